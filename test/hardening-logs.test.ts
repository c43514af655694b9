// Hardening of logs and output (issue 16): a stalled stdout reader, output cut off by exit,
// start-up failures that reached only stderr, a log reopen that failed silently.
import { describe, expect, test } from "bun:test";
import { appendFileSync, chownSync, constants, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, freePort, needTool, otherUser, ROOT, spawnRodent, startServer, tempDir, waitFor } from "./helpers";

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
    /** Reads what the pipe holds now (at most `atMost` bytes), without waiting; returns everything read so far. */
    read(atMost = chunk.length): string {
      for (let left = atMost; left > 0; left -= chunk.length) {
        let n = 0;
        try {
          n = readSync(fd, chunk, 0, Math.min(left, chunk.length), null);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EAGAIN") return text;
          throw error;
        }
        if (n <= 0) return text;
        text += chunk.subarray(0, n).toString("utf8");
      }
      return text;
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

    test(`--log-file /dev/stdout (a container's habit) on a stalled pipe: serving and SIGTERM go on (${runtime})`, async () => {
      const dir = tempDir();
      const pipe = stalledPipe(dir);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const r = spawnRodent(["serve", "--port", String(port), "--pid-file", join(dir, "r.pid"), "--log-file", "/dev/stdout"], {
        runtime,
        env: { HOME: dir },
        wrap: (cmd) => ["sh", "-c", 'exec "$@" >"$0"', pipe.path, ...cmd],
      });
      await waitFor(async () => (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200, 15_000, "ready");
      expect((await flood(url, 1500)).filter((s) => s !== 200)).toEqual([]);
      const health = await timed(fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }));
      expect(health.value.status).toBe(200);
      expect(health.ms).toBeLessThan(1000);
      r.signal("SIGTERM");
      const exit = await timed(r.exited(5000));
      expect(exit.value).toBe(0);
      expect(exit.ms).toBeLessThan(3000);
      expect(r.output()).toMatch(/^rodent: dropped \d+ log lines: \/dev\/stdout not keeping up$/m);
    }, 60_000);

    test(`on a socket nobody reads (the journal's kind of stdout), serving and SIGTERM go on (${runtime})`, async () => {
      const dir = tempDir();
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      // stdout is one end of a socketpair; rodent inherits the other end too, so nobody ever reads it
      const socketpair =
        "import os,socket,sys; a,b=socket.socketpair(); os.set_inheritable(a.fileno(),True); os.dup2(b.fileno(),1); os.execvp(sys.argv[1],sys.argv[1:])";
      const r = spawnRodent(["serve", "--port", String(port), "--pid-file", join(dir, "r.pid"), "--log-format", "json"], {
        runtime,
        env: { HOME: dir },
        wrap: (cmd) => ["python3", "-c", socketpair, ...cmd],
      });
      await waitFor(async () => (await fetch(`${url}/ready`).catch(() => undefined))?.status === 200, 15_000, "ready");
      expect((await flood(url, 1500)).filter((s) => s !== 200)).toEqual([]);
      const health = await timed(fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }));
      expect(health.value.status).toBe(200);
      expect(health.ms).toBeLessThan(1000);
      r.signal("SIGTERM");
      const exit = await timed(r.exited(5000));
      expect(exit.value).toBe(0);
      expect(exit.ms).toBeLessThan(3000);
      expect(r.output()).toMatch(/^rodent: dropped \d+ log lines: stdout not keeping up$/m);
    }, 60_000);
  }
});

type Line = Record<string, unknown> & { level: string; msg: string; event?: string };
/** The complete lines of a JSON log file: a file just created by a rotation is empty, and a line still being written (no newline yet) is left for the next look. */
const logLines = (path: string): Line[] => readFileSync(path, "utf8").split("\n").slice(0, -1).map((l) => JSON.parse(l) as Line);

describe("start-up failures reach the log file, not only stderr", () => {
  for (const runtime of RUNTIMES) {
    test(`a taken port: one line on stderr, and an error line with its event in the log (${runtime})`, async () => {
      const busy = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
      try {
        const dir = tempDir();
        const logFile = join(dir, "rodent.log");
        const r = spawnRodent(["serve", "--port", String(busy.port), "--pid-file", join(dir, "r.pid"), "--log-file", logFile], { runtime, env: { HOME: dir } });
        expect(await r.exited()).toBe(1);
        const problem = `cannot listen on 127.0.0.1:${busy.port}: port ${busy.port} is in use`;
        expect(r.output().split("\n").filter(Boolean)).toHaveLength(1);
        expect(r.output()).toStartWith(`rodent: ${problem}`);
        const lines = logLines(logFile);
        expect(lines[0]!.event).toBe("start");
        const failed = lines.find((l) => l.event === "start-failed");
        expect(failed).toMatchObject({ level: "error", tag: "rodent" });
        expect(failed!.msg).toContain(problem);
      } finally {
        busy.stop(true);
      }
    });
  }

  test("a held lock with stderr on /dev/null (start-stop-daemon --background): the log says why", async () => {
    const s = await startServer();
    const logFile = join(s.dir, "second.log");
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", s.pidFile, "--log-file", logFile], {
      env: { HOME: s.dir },
      wrap: (cmd) => ["sh", "-c", 'exec "$@" 2>/dev/null', "sh", ...cmd],
    });
    expect(await r.exited()).toBe(1);
    expect(r.output()).toBe("");
    const failed = logLines(logFile).find((l) => l.event === "start-failed");
    expect(failed?.level).toBe("error");
    expect(failed!.msg).toContain(`another instance is already running (PID: ${s.pid}`);
  });
});

/** An instance running as the second local user, with its log and PID directories owned by it (as LogsDirectory= makes them). */
async function unprivilegedInstance(user: NonNullable<ReturnType<typeof otherUser>>) {
  const dir = tempDir();
  const logs = join(dir, "log");
  const run = join(dir, "run");
  for (const d of [logs, run]) {
    mkdirSync(d, { mode: 0o755 });
    chownSync(d, user.uid, user.gid);
  }
  const logFile = join(logs, "rodent.log");
  const pidFile = join(run, "rodent.pid");
  const s = await startServer(["--pid-file", pidFile, "--log-file", logFile], { env: { HOME: dir }, wrap: user.run });
  const accessPaths = (path: string) => logLines(path).filter((l) => l.tag === "access").map((l) => l.path);
  return { s, dir, logFile, pidFile, accessPaths };
}

describe("log rotation with an instance that runs as its own user", () => {
  const user = otherUser();
  const why = "needs root: logrotate runs as root and the instance as a second local user";

  test.skipIf(!user)(`contrib/logrotate/rodent with real logrotate: new lines go to the new file (${user ? "as root" : why})`, async () => {
    needTool("logrotate");
    const { s, dir, logFile, pidFile, accessPaths } = await unprivilegedInstance(user!);
    await fetch(`${s.url}/before`);
    await waitFor(() => accessPaths(logFile).includes("/before"), 5000, "the access line before rotation");
    // the shipped file, pointed at this instance: its paths, its binary, and the test's user for "rodent"
    const shipped = readFileSync(join(ROOT, "contrib/logrotate/rodent"), "utf8");
    const config = shipped
      .replace("/var/log/rodent/rodent.log", logFile)
      .replace("/usr/local/bin/rodent status", `${BIN} status --pid-file ${pidFile}`)
      .replace("/run/rodent/rodent.pid", pidFile)
      .replace("create 0640 rodent rodent", `create 0640 ${user!.name} ${user!.name}`);
    expect(config).not.toBe(shipped);
    writeFileSync(join(dir, "logrotate.conf"), config, { mode: 0o644 });
    const rotate = Bun.spawnSync(["logrotate", "-f", "-s", join(dir, "logrotate.state"), join(dir, "logrotate.conf")], { stderr: "pipe" });
    expect(rotate.stderr.toString()).toBe("");
    expect(rotate.exitCode).toBe(0);
    await waitFor(() => logLines(logFile).some((l) => l.event === "log-reopened"), 5000, "log-reopened in the new file");
    await fetch(`${s.url}/after`);
    await waitFor(() => accessPaths(logFile).includes("/after"), 5000, "the access line after rotation in the new file");
    expect(accessPaths(`${logFile}.1`)).toEqual(["/before"]);
    expect(logLines(`${logFile}.1`).some((l) => l.event === "log-reopen-failed")).toBe(false);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });

  test.skipIf(!user)(`a reopen that fails is said on stderr and in the status record, not only in the old file (${user ? "as root" : why})`, async () => {
    const { s, logFile, pidFile } = await unprivilegedInstance(user!);
    // what the old logrotate file did: the new file belongs to root, so the instance cannot open it
    renameSync(logFile, `${logFile}.1`);
    writeFileSync(logFile, "", { mode: 0o640 });
    s.signal("SIGUSR1");
    await s.waitForOutput(new RegExp(`^rodent: cannot open log file ${logFile} \\(EACCES\\).*; still writing to the old file$`, "m"), 5000);
    const status = () => JSON.parse(readFileSync(`${pidFile}.status`, "utf8")) as { logReopenError?: string };
    await waitFor(() => status().logReopenError, 5000, "logReopenError in the status record");
    expect(status().logReopenError).toContain(`cannot open log file ${logFile} (EACCES)`);
    expect(logLines(`${logFile}.1`).find((l) => l.event === "log-reopen-failed")?.level).toBe("error");
    // fixed by hand: the next SIGUSR1 reopens and the record no longer carries the error
    chownSync(logFile, user!.uid, user!.gid);
    s.signal("SIGUSR1");
    await waitFor(() => readFileSync(logFile, "utf8").includes('"log-reopened"'), 5000, "reopened after the fix");
    await waitFor(() => status().logReopenError === undefined, 5000, "the error gone from the status record");
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });
});

describe("command output reaches a slow pipe whole", () => {
  for (const runtime of RUNTIMES) {
    test(`rodent logs -n 3000 into a reader taking 4 KiB every 20 ms prints all 3000 lines (${runtime})`, async () => {
      const dir = tempDir();
      const logFile = join(dir, "big.log");
      writeFileSync(logFile, Array.from({ length: 5000 }, (_, i) => `{"n":${i},"pad":"${"x".repeat(80)}"}\n`).join(""));
      const pipe = stalledPipe(dir);
      const r = spawnRodent(["logs", "-n", "3000", "--log-file", logFile, "--pid-file", join(dir, "r.pid")], {
        runtime,
        env: { HOME: dir },
        wrap: (cmd) => ["sh", "-c", 'exec "$@" >"$0"', pipe.path, ...cmd],
      });
      let exited = false;
      const code = r.exited(30_000).finally(() => (exited = true));
      // a slow reader: 4 KiB per poll of waitFor (20 ms), so the ~300 KB take over a second,
      // far longer than rodent needs to write them
      await waitFor(() => {
        pipe.read(4096);
        return exited;
      }, 30_000, "rodent logs to finish");
      expect(await code).toBe(0);
      const lines = pipe.read().split("\n").filter(Boolean);
      expect(lines).toHaveLength(3000);
      expect(JSON.parse(lines[0]!).n).toBe(2000);
      expect(JSON.parse(lines.at(-1)!).n).toBe(4999);
    });

    test(`rodent logs -f into a slow reader: every appended line arrives whole and in order (${runtime})`, async () => {
      const dir = tempDir();
      const logFile = join(dir, "grow.log");
      writeFileSync(logFile, "before\n");
      const pipe = stalledPipe(dir);
      const r = spawnRodent(["logs", "-f", "-n", "1", "--log-file", logFile, "--pid-file", join(dir, "r.pid")], {
        runtime,
        env: { HOME: dir },
        wrap: (cmd) => ["sh", "-c", 'exec "$@" >"$0"', pipe.path, ...cmd],
      });
      // ~600 KB appended at once: far more than the pipe holds while the reader dawdles
      const line = (i: number) => `{"n":${i},"pad":"${String(i % 10).repeat(100)}"}\n`;
      await waitFor(() => pipe.read() === "before\n", 15_000, "the last line before following");
      appendFileSync(logFile, Array.from({ length: 5000 }, (_, i) => line(i)).join(""));
      await waitFor(() => pipe.read(4096).split("\n").length > 5000, 30_000, "all 5000 lines through the slow reader");
      r.signal("SIGINT");
      expect(await r.exited()).toBe(0);
      const lines = pipe.read().split("\n").filter(Boolean).slice(1);
      expect(lines.length).toBe(5000);
      for (const [i, text] of lines.entries()) if (`${text}\n` !== line(i)) throw new Error(`line ${i} arrived as ${text.slice(0, 80)}`);
    }, 60_000);
  }
});
