import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { ConfigSchema } from "../../src/config/schema";
import { clientInfo, compileTrust, parseTrustEntry, UNIX_PEER } from "../../src/http/trust";

const loopback = compileTrust(["127.0.0.0/8", "::1"]);
const h = (init: Record<string, string>) => new Headers(init);

describe("proxy trust", () => {
  test("CIDR matching for IPv4, IPv6 and IPv4-mapped addresses", () => {
    const t = compileTrust(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::ffff:172.16.0.0/108"]);
    expect(t("10.200.3.4")).toBe(true);
    expect(t("11.0.0.1")).toBe(false);
    expect(t("192.168.1.7")).toBe(true);
    expect(t("192.168.1.8")).toBe(false);
    expect(t("::ffff:10.1.1.1")).toBe(true);
    expect(t("fd12:3456::1")).toBe(true);
    expect(t("fe80::1")).toBe(false);
    expect(t("172.16.9.9")).toBe(true);
    expect(t("172.32.0.1")).toBe(false);
    expect(t(undefined)).toBe(false);
    expect(t("not an ip")).toBe(false);
    expect(t("10.0.0.256")).toBe(false);
    expect(t("fd00::1::2")).toBe(false);
    expect(t("fd00:12345::1")).toBe(false);
  });

  test("entries that are not addresses or whose prefix does not fit are refused with the reason", () => {
    for (const bad of ["999.1.1.1", "1:2", ":", "::1/200", "10.0.0.0/99", "10.0.0.0/", "/8", "10.0.0.0/8/9", "10.0.0.0/+8", " 10.0.0.1", "fe80::1%eth0", "::ffff:10.0.0.0/64", ""]) {
      expect(typeof parseTrustEntry(bad)).toBe("string");
    }
    expect(parseTrustEntry("999.1.1.1")).toBe('"999.1.1.1" is not an IPv4 or IPv6 address');
    expect(parseTrustEntry("10.0.0.0/99")).toBe("the prefix length after / must be a number from 0 to 32 for this address");
    expect(parseTrustEntry("::1/200")).toBe("the prefix length after / must be a number from 0 to 128 for this address");
    for (const good of ["0.0.0.0/0", "10.0.0.0/8", "::1", "::/0", "fd00::/8", "2001:db8::1/128", "::ffff:10.0.0.0/104"]) {
      expect(typeof parseTrustEntry(good)).toBe("object");
    }
  });

  test("the config schema refuses what compileTrust could not compile, and accepts what it can", () => {
    const parse = (trustProxy: unknown) => v.safeParse(ConfigSchema, { server: { trustProxy } });
    for (const bad of ["999.1.1.1", "1:2", ":", "::1/200", "10.0.0.0/99"]) {
      const result = parse(["127.0.0.1", bad]);
      expect(result.success).toBe(false);
      expect(result.issues?.[0].message).toStartWith("expected an IP address or CIDR like 10.0.0.0/8: ");
      expect(v.getDotPath(result.issues![0])).toBe("server.trustProxy.1");
    }
    const good = parse(["10.0.0.0/8", "::1", "::ffff:10.0.0.0/104"]);
    expect(good.success).toBe(true);
    expect(() => compileTrust((good.output as { server: { trustProxy: string[] } }).server.trustProxy)).not.toThrow();
  });

  test("forwarded headers from an untrusted peer are ignored", () => {
    const info = clientInfo("203.0.113.9", h({ "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https" }), loopback, "http");
    expect(info).toEqual({ ip: "203.0.113.9", scheme: "http" });
  });

  test("an unknown peer (the connection was already gone) is never trusted, even when loopback is", () => {
    const info = clientInfo(undefined, h({ "x-forwarded-for": "203.0.113.77", "x-forwarded-proto": "https" }), loopback, "http");
    expect(info).toEqual({ ip: "unknown", scheme: "http" });
  });

  test("from a trusted peer, the rightmost untrusted X-Forwarded-For hop is the client", () => {
    const info = clientInfo("127.0.0.1", h({ "x-forwarded-for": "6.6.6.6, 198.51.100.7, 127.0.0.5", "x-forwarded-proto": "https" }), loopback, "http");
    expect(info).toEqual({ ip: "198.51.100.7", scheme: "https" });
  });

  test("the scheme comes from the same hop as the address, not from the client-controlled left end", () => {
    // the client claimed https; the trusted proxy appended what it really saw
    const appended = clientInfo("127.0.0.1", h({ "x-forwarded-for": "203.0.113.77, 198.51.100.7", "x-forwarded-proto": "https, http" }), loopback, "http");
    expect(appended).toEqual({ ip: "198.51.100.7", scheme: "http" });
    // two trusted proxies; the edge one set the scheme once and the inner one left it alone
    const twoHops = clientInfo("127.0.0.1", h({ "x-forwarded-for": "198.51.100.7, 127.0.0.9", "x-forwarded-proto": "https" }), loopback, "http");
    expect(twoHops).toEqual({ ip: "198.51.100.7", scheme: "https" });
    const forwarded = clientInfo("::1", h({ forwarded: "for=203.0.113.77;proto=https, for=198.51.100.7;proto=http" }), loopback, "https");
    expect(forwarded).toEqual({ ip: "198.51.100.7", scheme: "http" });
  });

  test("the Forwarded header is understood", () => {
    const info = clientInfo("::1", h({ forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8::1]:4711";proto=https' }), loopback, "http");
    expect(info).toEqual({ ip: "2001:db8::1", scheme: "https" });
    const noProto = clientInfo("::1", h({ forwarded: 'for="[2001:db8::1]:4711"' }), loopback, "http");
    expect(noProto).toEqual({ ip: "2001:db8::1", scheme: "http" });
  });

  test("a unix-socket peer is trusted as loopback is; a trusted peer without forwarding headers is the client", () => {
    expect(clientInfo(UNIX_PEER, h({ "x-forwarded-for": "198.51.100.7" }), loopback, "http").ip).toBe("198.51.100.7");
    expect(clientInfo(UNIX_PEER, h({ "x-forwarded-for": "198.51.100.7" }), compileTrust([]), "http").ip).toBe("unix");
    expect(clientInfo("127.0.0.1", h({}), loopback, "http")).toEqual({ ip: "127.0.0.1", scheme: "http" });
  });

  test("garbage in X-Forwarded-For stops the walk at the last good hop", () => {
    const info = clientInfo("127.0.0.1", h({ "x-forwarded-for": "<script>, 198.51.100.7" }), loopback, "http");
    expect(info.ip).toBe("198.51.100.7");
  });
});
