// W3C Trace Context end to end: a valid traceparent's trace id lands in the access line (JSON and
// pretty, compiled binary and Node bundle) and reaches an application's handler; an invalid one is
// ignored and the request served as usual.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getJson, startServer, tempDir, waitFor } from "./helpers";
import { notes, notesBinary } from "./kit-fixture";

beforeAll(() => void notesBinary(), 60_000);

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const VALID = `00-${TRACE}-${PARENT}-01`;
const INVALID: Record<string, string> = {
  upper: `00-${TRACE.toUpperCase()}-${PARENT}-01`,
  "zero-trace": `00-${"0".repeat(32)}-${PARENT}-01`,
  "zero-parent": `00-${TRACE}-${"0".repeat(16)}-01`,
  long: `${VALID}0`,
  short: VALID.slice(0, -1),
  "version-ff": `ff-${TRACE}-${PARENT}-01`,
};

type Line = Record<string, unknown>;
const accessLines = (file: string): Line[] =>
  readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line).filter((l) => l.tag === "access");

for (const runtime of ["bun", "node"] as const) {
  describe(`trace context in the access log (${runtime === "bun" ? "dist/rodent" : "dist/rodent.mjs on node"})`, () => {
    test("a valid traceparent's trace id is the access line's traceId; an invalid one adds none and the request is served", async () => {
      const dir = tempDir();
      const logFile = join(dir, "rodent.log");
      const s = await startServer(["--log-file", logFile], { runtime, env: { HOME: dir } });
      const valid = await fetch(`${s.url}/api/v1/rodent/version`, { headers: { traceparent: VALID, tracestate: "rojo=1", "x-request-id": "valid" } });
      expect(valid.status).toBe(200);
      for (const [id, traceparent] of Object.entries(INVALID)) {
        const res = await fetch(`${s.url}/api/v1/rodent/version`, { headers: { traceparent, "x-request-id": id } });
        expect(`${id}: ${res.status}`).toBe(`${id}: 200`);
      }
      await fetch(`${s.url}/api/v1/rodent/version`, { headers: { "x-request-id": "none" } });
      await waitFor(() => accessLines(logFile).length === Object.keys(INVALID).length + 2, 10_000, () => `every access line in ${readFileSync(logFile, "utf8")}`);
      const lines = accessLines(logFile);
      const byId = Object.fromEntries(lines.map((l) => [l.requestId, l]));
      expect(byId.valid).toMatchObject({ traceId: TRACE, status: 200 });
      for (const id of [...Object.keys(INVALID), "none"]) {
        expect(byId[id]).toMatchObject({ status: 200 });
        expect(byId[id]).not.toHaveProperty("traceId");
      }
    });
  });
}

describe("trace context elsewhere", () => {
  test("the pretty access line names the trace id as trace=", async () => {
    const s = await startServer(["--log-format", "pretty"]);
    await fetch(`${s.url}/api/v1/rodent/version`, { headers: { traceparent: VALID, "x-request-id": "pretty-trace" } });
    await fetch(`${s.url}/api/v1/rodent/version`, { headers: { traceparent: INVALID.upper!, "x-request-id": "pretty-upper" } });
    await s.waitForOutput(/access GET \/api\/v1\/rodent\/version 200 .* id=pretty-trace trace=4bf92f3577b34da6a3ce929d0e0e4736 ua=/);
    const upper = (await s.waitForOutput(/access GET .* id=pretty-upper.*/))[0];
    expect(upper).not.toContain("trace=");
  });

  for (const runtime of ["bun", "node"] as const) {
    test(`an application's handler sees the parsed context in c.env.trace, and nothing for an invalid one (${runtime})`, async () => {
      const s = await startServer([], notes({ runtime }));
      expect(await getJson(`${s.url}/trace`, { headers: { traceparent: `00-${TRACE}-${PARENT}-00`, tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" } })).toEqual({
        trace: { traceId: TRACE, parentId: PARENT, sampled: false, traceparent: `00-${TRACE}-${PARENT}-00`, tracestate: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" },
      });
      expect(await getJson(`${s.url}/trace`, { headers: { traceparent: `cc-${TRACE}-${PARENT}-01-future` } })).toMatchObject({ trace: { traceId: TRACE, sampled: true } });
      for (const traceparent of Object.values(INVALID)) expect(await getJson(`${s.url}/trace`, { headers: { traceparent, tracestate: "rojo=1" } })).toEqual({ trace: null });
      expect(await getJson(`${s.url}/trace`)).toEqual({ trace: null });
      await s.waitForOutput(new RegExp(`"path":"/trace","status":200.*"traceId":"${TRACE}"`));
    });
  }
});
