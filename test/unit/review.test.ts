// Bounds on what a status record can make a control command believe (pure logic of stop/status).
import { describe, expect, test } from "bun:test";
import { silentFor } from "../../src/cli/status";
import { waitBudget } from "../../src/cli/stop";

describe("numbers from a status record are bounded by the schema", () => {
  test("stop waits the recorded shutdownTimeout + 5 s, but never longer than the schema's 1 h allows", () => {
    expect(waitBudget(undefined, 30_000).timeoutMs).toBe(35_000);
    expect(waitBudget(undefined, 3_600_000).timeoutMs).toBe(3_605_000);
    // a record claiming 31 years: the default wait, not 31 years
    expect(waitBudget(undefined, 1e12).timeoutMs).toBe(30_000);
    expect(waitBudget("2s", 1e12).timeoutMs).toBe(2000);
  });

  test("status judges silence by at most the schema's longest heartbeat (1 h)", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    const updatedAt = new Date(now - 4 * 3_600_000).toISOString(); // 4 h without a heartbeat
    expect(silentFor({ heartbeatMs: 1e12, updatedAt }, now)).toEqual({ ms: 4 * 3_600_000 });
    expect(silentFor({ heartbeatMs: 3_600_000, updatedAt }, now)).toEqual({ ms: 4 * 3_600_000 });
    expect(silentFor({ heartbeatMs: 30_000, updatedAt: new Date(now - 10_000).toISOString() }, now)).toBeUndefined();
  });
});
