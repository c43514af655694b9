// The W3C Trace Context (Level 1) traceparent parser, on the spec's own examples and the ways a
// header can be invalid.
import { describe, expect, test } from "bun:test";
import { parseTraceparent, traceOf } from "../../src/http/trace";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const header = (version = "00", trace = TRACE, parent = PARENT, flags = "01") => `${version}-${trace}-${parent}-${flags}`;

describe("parseTraceparent accepts", () => {
  test("the spec's example, sampled", () => {
    expect(parseTraceparent(header())).toEqual({ traceId: TRACE, parentId: PARENT, sampled: true, traceparent: header() });
  });

  test("flags without the sampled bit, and other bits besides it", () => {
    expect(parseTraceparent(header("00", TRACE, PARENT, "00"))?.sampled).toBe(false);
    expect(parseTraceparent(header("00", TRACE, PARENT, "02"))?.sampled).toBe(false);
    expect(parseTraceparent(header("00", TRACE, PARENT, "03"))?.sampled).toBe(true);
    expect(parseTraceparent(header("00", TRACE, PARENT, "ff"))?.sampled).toBe(true);
  });

  test("a higher version by its first four fields, alone or followed by more after a dash", () => {
    expect(parseTraceparent(header("01"))?.traceId).toBe(TRACE);
    expect(parseTraceparent(header("cc"))?.parentId).toBe(PARENT);
    expect(parseTraceparent(`${header("cc")}-what-the-future-will-be-like`)).toMatchObject({ traceId: TRACE, parentId: PARENT, sampled: true });
  });

  test("ids with zeros that are not all zeros", () => {
    expect(parseTraceparent(header("00", "0".repeat(31) + "1", "0".repeat(15) + "1"))?.traceId).toBe("0".repeat(31) + "1");
  });
});

describe("parseTraceparent ignores", () => {
  const invalid: Array<[string, string | null | undefined]> = [
    ["no header", null],
    ["undefined", undefined],
    ["an empty value", ""],
    ["upper-case hex in the trace id", header("00", TRACE.toUpperCase())],
    ["upper-case hex in the parent id", header("00", TRACE, PARENT.toUpperCase())],
    ["upper-case hex in the flags", header("00", TRACE, PARENT, "0A")],
    ["upper-case hex in the version", header("0A")],
    ["version ff", header("ff")],
    ["an all-zero trace id", header("00", "0".repeat(32))],
    ["an all-zero parent id", header("00", TRACE, "0".repeat(16))],
    ["version 00 with a field after the flags", `${header()}-01`],
    ["version 00 one character long", `${header()}0`],
    ["version 00 one character short", header().slice(0, -1)],
    ["a trace id one digit short", header("00", TRACE.slice(1), `${PARENT}0`)],
    ["a parent id one digit long", header("00", TRACE, `${PARENT}0`, "1")],
    ["a higher version followed by something other than a dash", `${header("cc")}.extra`],
    ["a higher version shorter than 55 characters", header("cc").slice(0, -1)],
    ["a non-hex character", header("00", `${TRACE.slice(0, -1)}g`)],
    ["another separator", header().replaceAll("-", "_")],
    ["a one-digit version", header("0")],
    ["leading whitespace (HTTP trims it before the parser sees it)", ` ${header()}`],
    ["two headers joined by the HTTP layer", `${header()}, ${header()}`],
  ];
  for (const [what, value] of invalid) {
    test(what, () => expect(parseTraceparent(value)).toBeUndefined());
  }
});

describe("traceOf", () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);

  test("adds tracestate as received when traceparent is valid", () => {
    expect(traceOf(headers({ traceparent: header(), tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" }))).toEqual({
      traceId: TRACE, parentId: PARENT, sampled: true, traceparent: header(), tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    });
    expect(traceOf(headers({ traceparent: header() }))).not.toHaveProperty("tracestate");
  });

  test("ignores tracestate when traceparent is invalid or absent, and reads nothing else then", () => {
    const asked: string[] = [];
    const spy = (entries: Record<string, string>) => ({ get: (name: string) => (asked.push(name), entries[name] ?? null) });
    expect(traceOf(spy({ tracestate: "rojo=1" }))).toBeUndefined();
    expect(traceOf(spy({ traceparent: header("ff"), tracestate: "rojo=1" }))).toBeUndefined();
    expect(asked).toEqual(["traceparent", "traceparent"]);
  });
});
