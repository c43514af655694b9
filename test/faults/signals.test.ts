// Signals at awkward moments: storms, start-up, mid-reload, doubled, and SIGKILL.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, getJson, spawnRodent, startServer, tempDir, waitFor } from "../helpers";

/** Runs `workers` concurrent request loops until stop() and counts what failed. */
function load(url: string, workers = 8, maxRequests = 50_000) {
  let stopped = false;
  let done = 0;
  let failed = 0;
  const runs = Array.from({ length: workers }, async () => {
    while (!stopped && done < maxRequests) {
      const ok = await fetch(url).then((r) => r.status === 200, () => false);
      done++;
      if (!ok) failed++;
    }
  });
  return {
    /** Requests finished so far. */
    count: () => done,
    async stop() {
      stopped = true;
      await Promise.all(runs);
      return { done, failed };
    },
  };
}

describe("signal faults", () => {
  test("a storm of 50 SIGHUPs under load: no failed request, config consistent afterwards", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "server:\n  logLevel: info\n");
    const s = await startServer(["-c", file, "--dev"], { env: { HOME: dir } });
    const traffic = load(`${s.url}/api/v1/rodent/version`);
    for (let i = 0; i < 50; i++) {
      writeFileSync(file, `server:\n  logLevel: ${i % 2 ? "info" : "warn"}\n`);
      const before = traffic.count();
      s.signal("SIGHUP");
      // every few signals, let requests through, so the storm and the load overlap on any machine
      if (i % 5 === 4) await waitFor(() => traffic.count() >= before + 8, 10_000, "requests during the storm");
    }
    writeFileSync(file, "server:\n  logLevel: debug\n");
    s.signal("SIGHUP");
    await waitFor(async () => (await getJson(`${s.url}/debug/config`)).config.server.logLevel === "debug", 10_000, "the last reload applied");
    const { done, failed } = await traffic.stop();
    expect(done).toBeGreaterThanOrEqual(80);
    expect(failed).toBe(0);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });

  test("SIGTERM at any moment of start-up exits cleanly and leaves nothing behind", async () => {
    for (const delayMs of [0, 2, 5, 10, 20, 40]) {
      const dir = tempDir();
      const socket = join(dir, "r.sock");
      const r = spawnRodent(["serve", "--socket", socket, "--pid-file", join(dir, "r.pid"), "--log-file", join(dir, "r.log")], { env: { HOME: dir } });
      await Bun.sleep(delayMs);
      r.signal("SIGTERM");
      // before the handlers exist the default action ends it (143); after, a graceful exit (0)
      expect([0, 143]).toContain(await r.exited());
      expect(readdirSync(dir).filter((f) => f !== "r.log")).toEqual([]);
    }
  });

  test("SIGTERM during a reload exits 0 and removes the PID file", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "server:\n  logLevel: info\n");
    const s = await startServer(["-c", file], { env: { HOME: dir } });
    writeFileSync(file, "server:\n  logLevel: debug\n");
    s.signal("SIGHUP");
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(existsSync(s.pidFile)).toBe(false);
  });

  test("SIGINT twice quickly: a graceful or a forced exit, never a PID file left", async () => {
    for (let i = 0; i < 3; i++) {
      const s = await startServer();
      s.signal("SIGINT");
      s.signal("SIGINT");
      expect([0, 130]).toContain(await s.exited());
      expect(existsSync(s.pidFile)).toBe(false);
    }
  });

  test("SIGKILL then restart: the stale lock is recovered", async () => {
    const s = await startServer();
    s.signal("SIGKILL");
    expect(await s.exited()).toBe(137);
    const again = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", s.pidFile], { env: { HOME: s.dir } });
    await waitFor(() => existsSync(s.pidFile) && readFileSync(s.pidFile, "utf8") === `${again.pid}\n`);
    again.signal("SIGTERM");
    expect(await again.exited()).toBe(0);
  });
});
