// The single-instance lock under pressure and tampering.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, spawnRodent, startServer, tempDir, waitFor } from "../helpers";

describe("lock faults", () => {
  test("32 simultaneous serve on one PID file: exactly one wins", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    const ports = await Promise.all(Array.from({ length: 32 }, () => freePort()));
    const all = ports.map((port) => spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile], { env: { HOME: dir } }));
    const winner = (await waitFor(() => all.find((r) => existsSync(pidFile) && readFileSync(pidFile, "utf8") === `${r.pid}\n`), 20_000))!;
    const codes = await Promise.all(all.filter((r) => r !== winner).map((r) => r.exited(30_000)));
    expect(codes).toEqual(Array(31).fill(1));
    winner.signal("SIGTERM");
    expect(await winner.exited()).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });

  test("a PID file replaced by hand while running is left alone at shutdown, and the owner says so", async () => {
    const s = await startServer();
    writeFileSync(s.pidFile, "424242\n");
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(readFileSync(s.pidFile, "utf8")).toBe("424242\n");
    expect(s.output()).toContain("no longer names this process");
  });

  test("a PID file deleted by hand while running: shutdown is clean, and another file there is not removed", async () => {
    const s = await startServer();
    unlinkSync(s.pidFile);
    writeFileSync(s.pidFile, `${process.pid}\n`);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(readFileSync(s.pidFile, "utf8")).toBe(`${process.pid}\n`);
  });
});
