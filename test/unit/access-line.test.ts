// The access line's hand-made formatting against what it replaced and what the runtime writes:
// the same bytes for every input, tricky characters included.
import { describe, expect, test } from "bun:test";
import { hundredths, isoAt, jsonInner, jsonString } from "../../src/log/logger";
import { jsonEscaped } from "../../src/log/escape";
import { requestIdFor } from "../../src/http/request-id";
import { clientInfo, compileTrust } from "../../src/http/trust";

/** jsonString as it was before the char-code scan: a regex test, else JSON.stringify escaped. */
const JSON_PLAIN = /^[ !#-[\]-~]*$/;
const before = (text: string) => (JSON_PLAIN.test(text) ? `"${text}"` : jsonEscaped(JSON.stringify(text)));

const tricky = [
  "", "plain", " ", "~", "!", "#", "[", "]", '"', "\\", 'q"uote', "back\\slash", "/api/v1/x?a=b&c=d;e",
  "tab\tnew\nline\rcr", "\x00", "\x1f", "\x7f", "\x80", "\x85", "\x9b", "\x9f", "\xa0", "é ü", "漢字",
  "\u2028", "\u2029", "ls\u2028ps\u2029end", "\ud800", "\udc00", "a\ud800b", "\udbff\udfff", "😀", "x😀\ud83d",
  "\ufeff", "\uffff", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "\x1b[31mred\x1b[0m",
];

describe("access line escaping", () => {
  test("jsonString writes what the regex version wrote, for tricky and random strings", () => {
    for (const text of tricky) expect(jsonString(text)).toBe(before(text));
    // every single UTF-16 code unit, alone and between printable characters
    for (let c = 0; c < 0x10000; c++) {
      const text = String.fromCharCode(c);
      expect(jsonString(text)).toBe(before(text));
      expect(jsonString(`a${text}b`)).toBe(before(`a${text}b`));
    }
    const pool = [...tricky.join(""), "a", "b", " ", "\ud800", "\udfff"];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      let text = "";
      for (let n = next() % 12; n > 0; n--) text += pool[next() % pool.length];
      expect(jsonString(text)).toBe(before(text));
      expect(jsonInner(text)).toBe(before(text).slice(1, -1));
    }
  });
});

describe("access line numbers and time", () => {
  test("hundredths writes a duration rounded to hundredths as String() does", () => {
    for (let k = 0; k < 200_000; k++) expect(hundredths(k / 100)).toBe(String(k / 100));
    for (const k of [999_999_999, 123_456_789_012, 2 ** 40 + 1, 2 ** 45 + 99]) expect(hundredths(k / 100)).toBe(String(k / 100));
    // what the front door passes: performance.now() differences rounded as it rounds them
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.round(Math.random() * 10 ** (i % 8) * 100) / 100;
      expect(hundredths(ms)).toBe(String(ms));
    }
  });

  test("isoAt writes toISOString's text, across seconds, for out-of-range and fractional times too", () => {
    const now = Date.now();
    const times = [0, 1, 999, 1000, 1001, now, now + 1, now + 999, now + 1000, 1_700_000_000_000, 1_700_000_000_999, 1_700_000_001_000, 253402300799999, 253402300800000, 253402300800001, -1, -1000, -1001, now + 0.5];
    for (let i = 0; i < 5000; i++) times.push(now + Math.floor(i * 37.3));
    for (const ms of times) expect(isoAt(ms)).toBe(new Date(ms).toISOString());
  });
});

describe("fields the access line writes without a scan", () => {
  // logger.ts's accessLine writes the request id, ip and scheme as they are: each must be
  // JSON-plain (printable ASCII without " or \) whatever the client sends
  const plain = (text: string) => expect(jsonInner(text)).toBe(text);
  const hostile = [...tricky, "a\"b", "a\\b", "x".repeat(129), "id with space", "<script>", "1.2.3.4\"", "::1\\", "[::1]:80\"", "unix", "unknown"];

  test("the request id: the client's when sane, else rodent's own", () => {
    for (const given of [...hostile, null, "abc-123", "a.b:c@d/e+f=g_h"]) plain(requestIdFor(given));
    for (let i = 0; i < 1000; i++) plain(requestIdFor(null));
  });

  test("the ip and scheme, from the peer or from forwarded headers", () => {
    const trusted = compileTrust(["127.0.0.0/8", "::1"]);
    for (const value of hostile) {
      const chains: Array<Record<string, string>> = [{ "x-forwarded-for": value, "x-forwarded-proto": value }, { forwarded: `for=${value};proto=${value}` }, { forwarded: `for="${value}";proto=https` }, { "x-forwarded-for": `${value}, 127.0.0.1` }];
      for (const headers of chains) {
        for (const peer of ["127.0.0.1", "::ffff:127.0.0.1", "unix", undefined, "10.0.0.1"]) {
          // a plain lookup, not Headers: the runtime's parser lets through bytes Headers() refuses
          const lookup = { get: (name: string) => headers[name] ?? null } as Headers;
          const client = clientInfo(peer, lookup, trusted, "http");
          plain(client.ip);
          expect(["http", "https"]).toContain(client.scheme);
        }
      }
    }
  });
});
