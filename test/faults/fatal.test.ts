// Fatal errors: uncaught exceptions and unhandled rejections end in a graceful shutdown with exit 1.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { startServer } from "../helpers";

describe("fatal faults", () => {
  for (const kind of ["exception", "rejection"] as const) {
    test(`an unhandled ${kind} is logged with its stack, drains, removes the PID file and exits 1`, async () => {
      const s = await startServer(["--dev"]);
      const res = await fetch(`${s.url}/debug/crash?kind=${kind}`);
      expect(res.status).toBe(202);
      expect(await s.exited()).toBe(1);
      const out = s.output();
      expect(out).toContain(`"event":"fatal"`);
      expect(out).toContain(`deliberate ${kind === "exception" ? "uncaught exception" : "unhandled rejection"}`);
      expect(out).toMatch(/"stack":"Error: a deliberate/);
      expect(out).toMatch(/"event":"stopped".*"exitCode":1/);
      expect(existsSync(s.pidFile)).toBe(false);
    });
  }

  test("an error thrown by a route is a JSON 500 and the process goes on", async () => {
    const s = await startServer(["--dev"]);
    for (let i = 0; i < 20; i++) expect((await fetch(`${s.url}/debug/error`)).status).toBe(500);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    expect(s.output()).toContain(`"event":"request-error"`);
  });
});
