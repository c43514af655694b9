import { describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, copyFileSync, existsSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanEnv, freePort, getJson, isAlive, ROOT, runRodent, spawnRodent, startServer, tempDir, track, waitFor } from "./helpers";

async function daemon(extra: string[] = [], runtime: "bun" | "node" = "bun") {
  const dir = tempDir();
  const port = await freePort();
  const pidFile = join(dir, "rodent.pid");
  const logFile = join(dir, "rodent.log");
  const env = { HOME: dir };
  const started = await runRodent(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", logFile, ...extra], { env, runtime });
  const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
  if (pid) track(pid);
  const ctl = (args: string[]) => runRodent([...args, "--pid-file", pidFile], { env });
  return { dir, port, pidFile, logFile, env, started, pid, ctl, url: `http://127.0.0.1:${port}` };
}

describe("serve -d", () => {
  test("returns 0 only once the daemon answers /health, and prints its PID and address", async () => {
    const d = await daemon();
    expect(d.started.code).toBe(0);
    expect(d.started.stdout).toBe(`rodent is running as a daemon (PID ${d.pid}) on 127.0.0.1:${d.port}; logs: ${d.logFile}\n`);
    // no waiting: it must already answer
    expect((await fetch(`${d.url}/health`)).status).toBe(200);
    expect((await getJson(`${d.url}/health`)).pid).toBe(d.pid);
  });

  test("the Node bundle detaches the same way", async () => {
    const d = await daemon([], "node");
    expect(d.started.code).toBe(0);
    expect((await getJson(`${d.url}/api/v1/rodent/version`)).runtime).toMatch(/^node /);
    // the compiled binary recognises the bundle's process as rodent and stops it
    const stop = await d.ctl(["stop"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`rodent stopped (PID ${d.pid})`);
    expect(isAlive(d.pid)).toBe(false);
    expect(existsSync(d.pidFile)).toBe(false);
  });

  test("the daemon is a session leader, in /, with umask 027, and survives its parent", async () => {
    const d = await daemon();
    const stat = readFileSync(`/proc/${d.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    expect(Number(fields[3])).toBe(d.pid); // session id
    expect(readFileSync(`/proc/${d.pid}/status`, "utf8")).toMatch(/^Umask:\s+0027$/m);
    expect(readlinkSync(`/proc/${d.pid}/cwd`)).toBe("/");
    // the parent (runRodent) has exited; the daemon lives on
    expect(isAlive(d.pid)).toBe(true);
  });

  test("status, reload, stop and stop again, then status 3", async () => {
    const d = await daemon();
    const status = await d.ctl(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`rodent is running (PID ${d.pid})`);
    expect(status.stdout).toContain("state:    ready");
    expect(status.stdout).toContain(`address:  127.0.0.1:${d.port}`);
    const json = JSON.parse((await d.ctl(["status", "--json"])).stdout);
    expect(json).toMatchObject({ running: true, pid: d.pid, state: "ready", address: `127.0.0.1:${d.port}`, generation: 1 });
    const reload = await d.ctl(["reload"]);
    expect(reload.code).toBe(0);
    expect(reload.stdout).toMatch(/^reload applied: config [0-9a-f]{8} \(generation 2\)/);
    const stop = await d.ctl(["stop"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`rodent stopped (PID ${d.pid})`);
    expect(isAlive(d.pid)).toBe(false);
    expect(existsSync(d.pidFile)).toBe(false);
    expect(existsSync(`${d.pidFile}.status`)).toBe(false);
    const again = await d.ctl(["stop"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("not running");
    expect((await d.ctl(["status"])).code).toBe(3);
  });

  test("reload reports a rejected config with its errors and exit 1; the daemon keeps serving", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "server:\n  logLevel: info\n");
    const d = await daemon(["-c", file]);
    expect(d.started.code).toBe(0);
    writeFileSync(file, "server:\n  logLevel: loud\n");
    const reload = await d.ctl(["reload"]);
    expect(reload.code).toBe(1);
    expect(reload.stderr).toContain("reload rejected");
    expect(reload.stderr).toContain("server.logLevel");
    expect((await fetch(`${d.url}/ready`)).status).toBe(200);
  });

  test("on a port in use the parent exits 1 with the child's error and leaves no PID file", async () => {
    const busy = await startServer();
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    const r = await runRodent(["serve", "-d", "--port", String(busy.port), "--pid-file", pidFile, "--log-file", join(dir, "log")], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${busy.port}: port ${busy.port} is in use`);
    expect(existsSync(pidFile)).toBe(false);
  });

  test("when an instance already runs, the parent says so and exits 1", async () => {
    const d = await daemon();
    const r = await runRodent(["serve", "-d", "--port", String(await freePort()), "--pid-file", d.pidFile, "--log-file", d.logFile], { env: d.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`another instance is already running (PID: ${d.pid}`);
    expect(readFileSync(d.pidFile, "utf8")).toBe(`${d.pid}\n`);
  });

  test("under a supervisor (INVOCATION_ID set) -d stays in the foreground and says so", async () => {
    const dir = tempDir();
    const s = spawnRodent(["serve", "-d", "--port", String(await freePort()), "--pid-file", join(dir, "r.pid")], { env: { HOME: dir, INVOCATION_ID: "0123456789abcdef" } });
    await s.waitForOutput(/staying in the foreground/);
    await waitFor(() => existsSync(join(dir, "r.pid")) && readFileSync(join(dir, "r.pid"), "utf8") === `${s.pid}\n`);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });
});

describe("identity across the ways rodent runs", () => {
  test("an instance run from source (bun run src/main.ts) is recognised and stopped by the binary", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    const port = await freePort();
    const source = Bun.spawn([join(ROOT, "node_modules/.bin/bun"), join(ROOT, "src/main.ts"), "serve", "--port", String(port), "--pid-file", pidFile], { env: { ...process.env, HOME: dir }, stdout: "ignore", stderr: "ignore" });
    track(source.pid);
    await waitFor(() => fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false), 15_000, "rodent from source");
    const status = await runRodent(["status", "--pid-file", pidFile], { env: { HOME: dir } });
    expect(status.code).toBe(0);
    const stop = await runRodent(["stop", "--pid-file", pidFile], { env: { HOME: dir } });
    expect(stop.stdout).toContain(`rodent stopped (PID ${source.pid})`);
    expect(await source.exited).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe("an upgraded binary recognises the instance it replaced", () => {
  test("binary replaced by rename while running: recognised once its own status record vouches for it, then stopped", async () => {
    const dir = tempDir();
    const bin = join(dir, "rodent");
    copyFileSync(BIN, bin);
    chmodSync(bin, 0o755);
    const port = await freePort();
    const pidFile = join(dir, "rodent.pid");
    const old = Bun.spawn([bin, "serve", "--port", String(port), "--pid-file", pidFile], { env: { ...cleanEnv(), HOME: dir, RODENT_HEALTH_INTERVAL: "2s" }, stdout: "ignore", stderr: "ignore" });
    track(old.pid);
    await waitFor(() => fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false), 15_000, "the old instance");
    // install the new build the way package managers do: a new file renamed over the old path
    copyFileSync(BIN, `${bin}.new`);
    chmodSync(`${bin}.new`, 0o755);
    renameSync(`${bin}.new`, bin);
    expect(readlinkSync(`/proc/${old.pid}/exe`)).toBe(`${bin} (deleted)`);
    const ctl = (args: string[]) => Bun.spawnSync([bin, ...args, "--pid-file", pidFile], { env: { ...cleanEnv(), HOME: dir } });
    // a path and " (deleted)" alone is not enough: without its status record it is not signalled.
    // Removed right after a heartbeat, the record stays missing for the 2 s the two checks below
    // may take on a loaded machine (with 1 s, the next heartbeat came back first once).
    const record = `${pidFile}.status`;
    const written = () => {
      const stat = statSync(record, { throwIfNoEntry: false });
      return stat ? `${stat.ino}:${stat.mtimeMs}` : "";
    };
    const before = written();
    await waitFor(() => written() !== before && written() !== "", 10_000, "a heartbeat rewriting the status record");
    unlinkSync(record);
    const unsure = ctl(["stop"]);
    expect(unsure.exitCode).toBe(1);
    expect(unsure.stderr.toString()).toContain(`PID ${old.pid} could not be verified as rodent`);
    expect(ctl(["status"]).exitCode).toBe(4);
    // the next heartbeat rewrites its record: naming its PID, its start time, owned by its uid
    await waitFor(() => existsSync(`${pidFile}.status`), 10_000, "the next heartbeat");
    const status = ctl(["status"]);
    expect(status.exitCode).toBe(0);
    expect(status.stdout.toString()).toContain(`rodent is running (PID ${old.pid})`);
    const stop = ctl(["stop"]);
    expect(stop.stdout.toString()).toContain(`rodent stopped (PID ${old.pid})`);
    expect(await old.exited).toBe(0);
  });
});

describe("status of a frozen instance, and how long stop waits", () => {
  test("a frozen instance (SIGSTOP) is not responding: status exits 4 and says since when; after SIGCONT it is ready again", async () => {
    const s = await startServer([], { env: { RODENT_HEALTH_INTERVAL: "1s" } });
    const status = (json = false) => runRodent(["status", "--pid-file", s.pidFile, ...(json ? ["--json"] : [])], { env: { HOME: s.dir } });
    expect((await status()).code).toBe(0);
    s.signal("SIGSTOP");
    try {
      const frozen = await waitFor(async () => {
        const r = await status();
        return r.code === 4 ? r : undefined;
      }, 15_000, "status 4 for a frozen instance");
      expect(frozen!.stdout).toMatch(new RegExp(`^rodent \\(PID ${s.pid}\\) is not responding: no heartbeat since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(\\d+ s ago; it records one every 1000 ms\\)`));
      const json = JSON.parse((await status(true)).stdout);
      expect(json).toMatchObject({ running: true, responding: false, pid: s.pid, heartbeatMs: 1000 });
      expect(Date.parse(json.since)).toBeLessThan(Date.now() - 3000);
    } finally {
      s.signal("SIGCONT");
    }
    await waitFor(async () => (await status()).code === 0, 10_000, "status 0 after SIGCONT");
  });

  test("stop waits the instance's own server.shutdownTimeout plus 5 s, not a fixed 30 s; --timeout still wins", async () => {
    const s = await startServer(["--shutdown-timeout", "1s"]);
    // frozen, it cannot act on SIGTERM: stop must give up after the instance's own deadline
    s.signal("SIGSTOP");
    try {
      const started = Date.now();
      const r = await runRodent(["stop", "--pid-file", s.pidFile], { env: { HOME: s.dir }, timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`rodent (PID ${s.pid}) did not exit within 6000 ms (its server.shutdownTimeout of 1000 ms + 5000 ms)`);
      expect(Date.now() - started).toBeLessThan(15_000);
      const flagged = await runRodent(["stop", "--pid-file", s.pidFile, "--timeout", "300ms"], { env: { HOME: s.dir } });
      expect(flagged.stderr).toContain("did not exit within 300 ms (--timeout)");
    } finally {
      s.signal("SIGCONT");
    }
    // the SIGTERM it received while frozen now drains it
    expect(await s.exited()).toBe(0);
  });
});

describe("status and stop with stale PID files", () => {
  test("a PID file naming a dead process: status 1, stop 0 and removes it", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    writeFileSync(pidFile, `${dead.pid}\n`);
    const status = await runRodent(["status", "--pid-file", pidFile]);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("not running, but its PID file");
    const stop = await runRodent(["stop", "--pid-file", pidFile]);
    expect(stop.code).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    expect((await runRodent(["status", "--pid-file", pidFile])).code).toBe(3);
  });

  test("a PID file naming a live unrelated process: status 1, and stop never signals it", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    const sleeper = Bun.spawn(["sleep", "30"]);
    track(sleeper.pid);
    writeFileSync(pidFile, `${sleeper.pid}\n`);
    expect((await runRodent(["status", "--pid-file", pidFile])).code).toBe(1);
    const stop = await runRodent(["stop", "--pid-file", pidFile]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`PID ${sleeper.pid} is another program`);
    expect(isAlive(sleeper.pid)).toBe(true);
  });

  test("stop --timeout with a long drain exits 1; --force kills it and removes the PID file", async () => {
    const s = await startServer(["--dev", "--shutdown-timeout", "60s"]);
    void fetch(`${s.url}/debug/sleep?ms=30000`).catch(() => {});
    await waitFor(async () => (await getJson(`${s.url}/debug/lifecycle`)).inFlight >= 2);
    const slow = await runRodent(["stop", "--pid-file", s.pidFile, "--timeout", "500ms"]);
    expect(slow.code).toBe(1);
    expect(slow.stderr).toContain("did not exit within 500 ms");
    const forced = await runRodent(["stop", "--pid-file", s.pidFile, "--timeout", "200ms", "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("killed it");
    expect(await s.exited()).toBe(137);
    expect(existsSync(s.pidFile)).toBe(false);
  });
});

describe("rodent health", () => {
  test("exit 0 when healthy, 1 with the reason when nothing answers", async () => {
    const s = await startServer();
    const ok = await runRodent(["health", "--port", String(s.port)]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`healthy: http://127.0.0.1:${s.port}/health answered 200`);
    const port = await freePort();
    const down = await runRodent(["health", "--port", String(port)]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`unhealthy: http://127.0.0.1:${port}/health: connection refused`);
  });
});

describe("rodent logs", () => {
  test("-n prints the last lines of the daemon's log file", async () => {
    const d = await daemon();
    for (let i = 0; i < 5; i++) await fetch(`${d.url}/api/v1/rodent/version?i=${i}`);
    await waitFor(() => readFileSync(d.logFile, "utf8").includes("i=4"));
    const r = await d.ctl(["logs", "-n", "2"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("i=4");
  });

  test("-f follows the file across a rotation", async () => {
    const dir = tempDir();
    const logFile = join(dir, "app.log");
    writeFileSync(logFile, "old 1\nold 2\n");
    const follow = spawnRodent(["logs", "-f", "-n", "1", "--log-file", logFile], { env: { HOME: dir } });
    await follow.waitForOutput(/old 2\n/);
    appendFileSync(logFile, "old 3\n");
    await follow.waitForOutput(/old 3\n/);
    renameSync(logFile, `${logFile}.1`);
    appendFileSync(`${logFile}.1`, "old 4\n");
    writeFileSync(logFile, "new 1\n");
    await follow.waitForOutput(/new 1\n/);
    expect(follow.output()).toBe("old 2\nold 3\nold 4\nnew 1\n");
    follow.signal("SIGINT");
    expect(await follow.exited()).toBe(0);
  });

  test("when logs go to stdout it says so", async () => {
    const dir = tempDir();
    const r = await runRodent(["logs", "--pid-file", join(dir, "none.pid")], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("logs go to stdout");
  });
});
