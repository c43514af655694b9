// Another local user attacks through a shared PID directory (mode 1777, as /tmp): plants files
// where rodent reads and writes, names processes that are not rodent, or tries to control an
// instance that is not theirs. Every case is bounded in time: a hang is a failure.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { asOther, BIN, cleanEnv, dropRoot, expectOneLine, freePort, isAlive, otherUser, runRodent, spawnRodent, startServer, tempDir, track, waitFor } from "./helpers";

const other = otherUser();
/** Runs only as root, where a second local user can be made; skipped otherwise (the attack needs two users). */
const attack = other ? test : test.skip;
if (!other) console.warn("security tests skipped: they need root to create the second user rodent-other");

/** A directory every user may create files in, as /tmp: mode 1777. */
function sharedDir(): string {
  const dir = tempDir();
  chmodSync(dir, 0o1777);
  return dir;
}

/** The one "rodent: ..." error line among a serve's log lines: no stack trace, no "unexpected error". */
function failureLine(output: string): string {
  const lines = output.split("\n").filter((line) => line.startsWith("rodent: "));
  expect(lines).toHaveLength(1);
  expect(output).not.toContain("unexpected error");
  expect(output).not.toMatch(/^\s+at /m);
  return lines[0] ?? "";
}

/** A root process whose executable is called rodent but is /bin/sleep. */
async function fakeRodent(dir: string): Promise<number> {
  const exe = join(dir, "bin", "rodent");
  mkdirSync(join(dir, "bin"), { recursive: true });
  copyFileSync("/bin/sleep", exe);
  chmodSync(exe, 0o755);
  const fake = Bun.spawn([exe, "60"], { stdout: "ignore", stderr: "ignore" });
  track(fake.pid);
  await waitFor(() => existsSync(`/proc/${fake.pid}/exe`));
  return fake.pid;
}

/** Starts rodent as the unprivileged user nobody with its PID file in `dir`, and waits until it is ready. */
async function nobodyInstance(dir: string, extra: string[] = [], runtime: "bun" | "node" = "bun") {
  const port = await freePort();
  const pidFile = join(dir, "rodent.pid");
  const s = spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile, ...extra], { unprivileged: true, runtime });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false), 15_000, `rodent ready: ${s.output()}`);
  return { ...s, url, pidFile };
}

describe("which process is ours is decided by the executable, not by its name", () => {
  test("a root process named rodent that is not our executable is never signalled by stop", async () => {
    const dir = tempDir();
    const pid = await fakeRodent(dir);
    const pidFile = join(dir, "rodent.pid");
    writeFileSync(pidFile, `${pid}\n`);
    expect((await runRodent(["status", "--pid-file", pidFile])).code).toBe(1);
    const stop = await runRodent(["stop", "--pid-file", pidFile], { timeoutMs: 15_000 });
    expect(stop.stdout).toContain(`PID ${pid} is another program`);
    expect(isAlive(pid)).toBe(true);
  });

  attack("a PID file another user wrote, naming a root process called rodent: stop as root refuses with one line, the process lives", async () => {
    const dir = sharedDir();
    const pid = await fakeRodent(dir);
    const pidFile = join(dir, "rodent.pid");
    asOther(["sh", "-c", `echo ${pid} > ${pidFile}`]);
    const stop = await runRodent(["stop", "--pid-file", pidFile], { timeoutMs: 15_000 });
    expect(stop.code).toBe(1);
    expectOneLine(stop.stderr);
    expect(stop.stderr).toContain(`belongs to uid ${other!.uid}`);
    expect(stop.stderr).toContain("nothing was signalled");
    expect(isAlive(pid)).toBe(true);
    expect(readFileSync(pidFile, "utf8")).toBe(`${pid}\n`);
  });

  attack("another user's stop and reload of root's instance: one line naming who may, and it keeps serving", async () => {
    const dir = sharedDir();
    const s = await startServer([], { env: { HOME: dir } });
    for (const verb of ["stop", "reload"]) {
      const r = await runRodent([verb, "--pid-file", s.pidFile], { wrap: other!.run, timeoutMs: 15_000 });
      expect(r.code).toBe(1);
      expectOneLine(r.stderr);
      expect(r.stderr).toContain(`rodent (PID ${s.pid}) runs as uid 0: only that user or root may ${verb} it`);
    }
    // reading is allowed: its own status record vouches for it where /proc/PID/exe may not be read
    const status = await runRodent(["status", "--pid-file", s.pidFile], { wrap: other!.run });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("state:    ready");
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });

  attack("root stops another user's instance that runs our executable", async () => {
    const dir = sharedDir();
    const port = await freePort();
    const pidFile = join(dir, "theirs.pid");
    const s = spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile], { wrap: other!.run });
    await waitFor(() => fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false), 15_000, `ready: ${s.output()}`);
    const stop = await runRodent(["stop", "--pid-file", pidFile], { timeoutMs: 15_000 });
    expect(stop.stdout).toContain(`rodent stopped (PID ${s.pid})`);
    expect(await s.exited()).toBe(0);
  });
  attack("root does not signal another user's instance of another rodent binary (a copy it cannot vouch for)", async () => {
    const dir = sharedDir();
    const copy = join(dir, "rodent");
    copyFileSync(BIN, copy);
    chmodSync(copy, 0o755);
    const port = await freePort();
    const pidFile = join(dir, "theirs.pid");
    const theirs = Bun.spawn(other!.run([copy, "serve", "--port", String(port), "--pid-file", pidFile]), { env: { ...cleanEnv(), HOME: dir }, stdout: "ignore", stderr: "ignore" });
    track(theirs.pid);
    await waitFor(() => fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status === 200, () => false), 15_000, "their instance");
    // its status record vouches that it is a rodent, enough to report on it...
    expect((await runRodent(["status", "--pid-file", pidFile])).code).toBe(0);
    // ...but not to let root act on another user's process with it
    const stop = await runRodent(["stop", "--pid-file", pidFile], { timeoutMs: 15_000 });
    expect(stop.code).toBe(1);
    expectOneLine(stop.stderr);
    expect(stop.stderr).toContain(`runs as uid ${other!.uid} and not this executable`);
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
  });
});

describe("the status record and the PID file are never trusted blindly", () => {
  const plants = {
    "a FIFO": (path: string) => asOther(["mkfifo", path]),
    "a symlink to /dev/zero": (path: string) => asOther(["ln", "-s", "/dev/zero", path]),
    "a forged record": (path: string) => asOther(["sh", "-c", `echo '{}' > ${path}`]),
  };
  for (const [what, plant] of Object.entries(plants)) {
    attack(`${what} planted at the status record: status, reload and stop neither hang nor believe it, and the instance stops cleanly`, async () => {
      const dir = sharedDir();
      const record = join(dir, "rodent.pid.status");
      plant(record);
      // nobody may not rename over another user's file in a sticky directory: the plant stays
      const s = await nobodyInstance(dir);
      if (what === "a forged record") {
        const forged = { pid: s.pid, state: "draining", version: "6.6.6-forged", runtime: "forged", startedAt: new Date().toISOString(), address: "forged", configHash: "forged", generation: 99, updatedAt: new Date().toISOString() };
        asOther(["sh", "-c", `echo '${JSON.stringify(forged)}' > ${record}`]);
      }
      const status = await runRodent(["status", "--pid-file", s.pidFile], { timeoutMs: 10_000 });
      expect(status.code).toBe(0);
      expect(status.stdout).toContain(`rodent is running (PID ${s.pid})`);
      expect(status.stdout).not.toContain("forged");
      const reload = await runRodent(["reload", "--pid-file", s.pidFile], { timeoutMs: 20_000 });
      expectOneLine(reload.stderr);
      const stop = await runRodent(["stop", "--pid-file", s.pidFile, "--timeout", "10s"], { timeoutMs: 20_000 });
      expect(stop.stdout).toContain(`rodent stopped (PID ${s.pid})`);
      expect(stop.code).toBe(0);
      expect(await s.exited(5000)).toBe(0);
      expect(existsSync(s.pidFile)).toBe(false);
    });
  }

  test("a record of the right owner naming another PID (a predecessor's, left over a restart) is not believed", async () => {
    const s = await startServer([]);
    const record = `${s.pidFile}.status`;
    await waitFor(() => existsSync(record), 10_000, "the status record");
    const own = JSON.parse(readFileSync(record, "utf8")) as Record<string, unknown>;
    // rewritten in place: the same file, the same owner, only the PID and what it claims differ
    writeFileSync(record, JSON.stringify({ ...own, pid: s.pid + 1, state: "draining", version: "6.6.6-predecessor" }));
    const status = await runRodent(["status", "--pid-file", s.pidFile]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`rodent is running (PID ${s.pid})`);
    expect(status.stdout).toContain(`does not describe PID ${s.pid}`);
    expect(status.stdout).not.toContain("6.6.6-predecessor");
    expect(status.stdout).not.toContain("draining");
  });

  attack("the Node bundle, as instance and as client, neither hangs on nor believes a FIFO at the status record", async () => {
    const dir = sharedDir();
    asOther(["mkfifo", join(dir, "rodent.pid.status")]);
    const s = await nobodyInstance(dir, [], "node");
    const status = await runRodent(["status", "--pid-file", s.pidFile], { runtime: "node", timeoutMs: 10_000 });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("its status record was ignored");
    const stop = await runRodent(["stop", "--pid-file", s.pidFile, "--timeout", "10s"], { runtime: "node", timeoutMs: 20_000 });
    expect(stop.stdout).toContain(`rodent stopped (PID ${s.pid})`);
    expect(await s.exited(5000)).toBe(0);
  });

  attack("a symlink at the record's temp path never makes the root instance write through it", async () => {
    const dir = sharedDir();
    const vault = tempDir();
    chmodSync(vault, 0o700);
    const precious = join(vault, "precious");
    writeFileSync(precious, "keep me\n");
    const s = await startServer([], { env: { HOME: dir, RODENT_HEALTH_INTERVAL: "1s" } });
    const record = `${s.pidFile}.status`;
    asOther(["ln", "-s", precious, `${record}.${s.pid}.tmp`]);
    const updatedAt = () => JSON.parse(readFileSync(record, "utf8")).updatedAt as string;
    const first = updatedAt();
    // two heartbeats later the record has been rewritten twice
    await waitFor(() => updatedAt() !== first, 10_000, "a heartbeat");
    const second = updatedAt();
    await waitFor(() => updatedAt() !== second, 10_000, "another heartbeat");
    expect(readFileSync(precious, "utf8")).toBe("keep me\n");
    expect(lstatSync(record).isFile()).toBe(true);
  });

  attack("a FIFO at the PID file path: status and stop say what it is in one line, without hanging", async () => {
    const dir = sharedDir();
    const pidFile = join(dir, "rodent.pid");
    asOther(["mkfifo", pidFile]);
    for (const verb of ["status", "stop"]) {
      const r = await runRodent([verb, "--pid-file", pidFile], { timeoutMs: 10_000 });
      expect(r.code).toBe(1);
      expectOneLine(r.stderr);
      expect(r.stderr).toContain("not a regular file");
    }
  });
});

describe("a failure another user causes is one line, never a stack trace", () => {
  attack("a stale PID file of another user in a sticky directory: one line saying whose it is", async () => {
    const dir = sharedDir();
    const pidFile = join(dir, "rodent.pid");
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    asOther(["sh", "-c", `echo ${dead.pid} > ${pidFile}`]);
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], { unprivileged: true });
    expect(await r.exited()).toBe(1);
    const failure = failureLine(r.output());
    expect(failure).toContain(`the stale PID file ${pidFile}`);
    expect(failure).toContain(`belongs to uid ${other!.uid}`);
  });

  attack("a takeover guard another user left in a sticky directory: one line naming it, no 5 s of retries", async () => {
    const dir = sharedDir();
    const pidFile = join(dir, "rodent.pid");
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    // nobody's own stale PID file, and another user's old guard beside it
    Bun.spawnSync([...dropRoot(), "sh", "-c", `echo ${dead.pid} > ${pidFile}`]);
    asOther(["touch", "-d", "1 minute ago", `${pidFile}.takeover`]);
    const started = Date.now();
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], { unprivileged: true });
    expect(await r.exited()).toBe(1);
    expect(Date.now() - started).toBeLessThan(4000);
    const failure = failureLine(r.output());
    expect(failure).toContain(`the takeover guard ${pidFile}.takeover`);
    expect(failure).toContain(`belongs to uid ${other!.uid}`);
  });

  attack("a dead unix socket of another user in a sticky directory: one line saying whose it is", async () => {
    const dir = sharedDir();
    const socket = join(dir, "rodent.sock");
    const theirs = spawnRodent(["serve", "--socket", socket, "--pid-file", join(dir, "theirs.pid")], { wrap: other!.run });
    await theirs.waitForOutput(/listening on unix:/);
    theirs.signal("SIGKILL");
    await theirs.exited();
    expect(lstatSync(socket).isSocket()).toBe(true);
    const r = spawnRodent(["serve", "--socket", socket, "--pid-file", join(dir, "mine.pid")], { unprivileged: true });
    expect(await r.exited()).toBe(1);
    const failure = failureLine(r.output());
    expect(failure).toContain(`unix socket ${socket}`);
    expect(failure).toContain(`belongs to uid ${other!.uid}`);
  });
});
