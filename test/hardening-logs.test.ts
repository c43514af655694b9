// Hardening of logs and output (issue 16): a stalled stdout reader, output cut off by exit,
// start-up failures that reached only stderr, a log reopen that failed silently.
import { describe, expect, test } from "bun:test";
import { constants, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { freePort, spawnRodent, tempDir, waitFor } from "./helpers";

const RUNTIMES = ["bun", "node"] as const;

/** A FIFO whose read end this test holds open but reads only when told. */
function stalledPipe(dir: string) {
  const path = join(dir, "stdout.fifo");
  expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const chunk = Buffer.alloc(1 << 20);
  let text = "";
  return {
    path,
    /** Reads what the pipe holds now, without waiting; returns everything read so far. */
    read(): string {
      for (;;) {
        let n = 0;
        try {
          n = readSync(fd, chunk, 0, chunk.length, null);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EAGAIN") return text;
          throw error;
        }
        if (n <= 0) return text;
        text += chunk.subarray(0, n).toString("utf8");
      }
    },
  };
}

/** `count` requests, `parallel` at a time, each bounded; returns the statuses (0: no answer in time). */
async function flood(url: string, count: number, parallel = 8): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const padding = "p".repeat(2000); // ~2 KB access lines fill the pipe and the sink's buffer quickly
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const n = next++;
        try {
          const res = await fetch(`${url}/api/v1/rodent/version?n=${n}&pad=${padding}`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          statuses.push(res.status);
        } catch {
          statuses.push(0);
          next = count; // a daemon that stopped answering: no use waiting for the rest
        }
      }
    }),
  );
  return statuses;
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

describe("a stalled stdout reader", () => {
  for (const runtime of RUNTIMES) {
    test(`never blocks serving or SIGTERM; dropped lines are counted and reported (${runtime})`, async () => {
      const dir = tempDir();
      const pipe = stalledPipe(dir);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const r = spawnRodent(["serve", "--port", String(port), "--pid-file", join(dir, "r.pid"), "--log-format", "json"], {
        runtime,
        env: { HOME: dir },
        wrap: (cmd) => ["sh", "-c", 'exec "$@" >"$0"', pipe.path, ...cmd],
      });
      await waitFor(async () => (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200, 15_000, "ready");

      // ~3 MB of access lines into a 64 KiB pipe nobody reads
      const first = await flood(url, 1500);
      expect(first.filter((s) => s !== 200)).toEqual([]);
      const health = await timed(fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }));
      expect(health.value.status).toBe(200);
      expect(health.ms).toBeLessThan(1000);

      // the reader catches up: what was held comes out whole, then one notice with the count
      const notice = await waitFor(() => pipe.read().split("\n").find((l) => l.includes('"log-lines-dropped"')), 15_000, "the drop notice on stdout");
      const parsed = JSON.parse(notice!);
      expect(parsed).toMatchObject({ level: "warn", event: "log-lines-dropped", msg: `dropped ${parsed.dropped} log lines: stdout not keeping up` });
      expect(parsed.dropped).toBeGreaterThan(100);
      const lines = pipe.read().trim().split("\n");
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
      expect(lines.filter((l) => l.includes('"log-lines-dropped"'))).toHaveLength(1);

      // stalled again at exit: SIGTERM still exits 0 at once and the count goes to stderr
      expect((await flood(url, 1500)).filter((s) => s !== 200)).toEqual([]);
      r.signal("SIGTERM");
      const exit = await timed(r.exited(5000));
      expect(exit.value).toBe(0);
      expect(exit.ms).toBeLessThan(3000);
      expect(r.output()).toMatch(/^rodent: dropped \d+ log lines: stdout not keeping up$/m);
    }, 60_000);
  }
});
