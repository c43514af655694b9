// `rodent restart` and the control commands attacked as a second local user: what restart runs, as
// whom and where its output goes, which config file picks the instance, and one restart at a time.
import { describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { BIN, BUNDLE, cleanEnv, freePort, getJson, needTool, otherUser, runRodent, tempDir, track, waitFor } from "./helpers";

const other = otherUser();
const pidIn = (file: string) => Number(readFileSync(file, "utf8"));
/** The effective uid of a live process, from /proc. */
const uidOf = (pid: number) => Number(/^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);

const EVIL_C = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
  const char *path = getenv("MARKER_FILE");
  if (!path) return;
  FILE *f = fopen(path, "a");
  if (!f) return;
  fprintf(f, "uid=%d pid=%d\\n", (int)geteuid(), (int)getpid());
  fclose(f);
}
`;

describe("restart runs nothing as the caller", () => {
  // Skipped where it cannot attack: not root (no second user).
  test.skipIf(!other)("root restarting another user's instance started with LD_PRELOAD never loads the library as uid 0; the successor runs as that user", async () => {
    needTool("cc");
    const dir = tempDir();
    writeFileSync(join(dir, "evil.c"), EVIL_C);
    const so = join(dir, "evil.so");
    expect(Bun.spawnSync(["cc", "-shared", "-fPIC", "-o", so, join(dir, "evil.c")]).exitCode).toBe(0);
    const marker = join(dir, "marker");
    const pidFile = join(dir, "rodent.pid");
    const port = await freePort();
    const started = await runRodent(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", join(dir, "rodent.log")], {
      env: { HOME: dir },
      wrap: (cmd) => other!.run(["env", `LD_PRELOAD=${so}`, `MARKER_FILE=${marker}`, ...cmd]),
    });
    expect(started.code).toBe(0);
    const before = pidIn(pidFile);
    track(before);
    expect(readFileSync(marker, "utf8")).toContain(`uid=${other!.uid} pid=${before}`);
    const r = await runRodent(["restart", "--pid-file", pidFile], { env: { HOME: dir }, timeoutMs: 45_000 });
    const marks = readFileSync(marker, "utf8");
    expect(marks).not.toMatch(/^uid=0 /m);
    expect(r.code).toBe(0);
    const now = pidIn(pidFile);
    track(now);
    expect(now).not.toBe(before);
    expect(uidOf(now)).toBe(other!.uid);
    expect((await getJson(`http://127.0.0.1:${port}/health`)).pid).toBe(now);
  }, 60_000);

  test("a PID file naming a shell script called rodent: restart refuses at once and never runs the script", async () => {
    const dir = tempDir();
    const script = join(dir, "rodent");
    const marker = join(dir, "marker");
    writeFileSync(script, `#!/bin/sh\necho "ran as $(id -u)" >> ${marker}\nwhile :; do sleep 1; done\n`, { mode: 0o755 });
    const fake = Bun.spawn([script, "serve"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    track(fake.pid);
    await waitFor(() => existsSync(marker), 5000, "the script's first run");
    const pidFile = join(dir, "rodent.pid");
    writeFileSync(pidFile, `${fake.pid}\n`);
    const startedAt = Date.now();
    const r = await runRodent(["restart", "--pid-file", pidFile], { env: { HOME: dir }, timeoutMs: 45_000 });
    expect(r.code).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toStartWith("rodent: ");
    expect(readFileSync(marker, "utf8").trim().split("\n")).toHaveLength(1);
  }, 60_000);
});

describe("restart keeps the instance's output", () => {
  // journald hands a service a unix socket as stdout: the successor must write there too.
  for (const [runtime, listen] of [["bun", "tcp"], ["node", "unix"]] as const) {
    test(`an instance (${runtime}, ${listen}) whose stdout is a socket: the successor logs to the same socket`, async () => {
      needTool("python3");
      const dir = tempDir();
      const received: string[] = [];
      const server = createServer((peer) => peer.on("data", (chunk) => received.push(chunk.toString())));
      const sockPath = join(dir, "journal.sock");
      await new Promise<void>((done) => server.listen(sockPath, done));
      try {
        const pidFile = join(dir, "rodent.pid");
        const port = await freePort();
        const where = listen === "tcp" ? ["--port", String(port)] : ["--socket", join(dir, "http.sock")];
        const program = runtime === "bun" ? [BIN] : ["node", BUNDLE];
        // connect to the socket, make it fd 1 and 2, then exec rodent in place (the PID stays)
        const connectThenExec = "import os,socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nos.dup2(s.fileno(),1)\nos.dup2(s.fileno(),2)\nos.execvp(sys.argv[2],sys.argv[2:])";
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries({ ...cleanEnv(), HOME: dir, XDG_RUNTIME_DIR: dir })) if (v !== undefined) env[k] = v;
        const proc = Bun.spawn(["python3", "-c", connectThenExec, sockPath, ...program, "serve", "--log-format", "json", "--pid-file", pidFile, ...where], { cwd: dir, env, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
        track(proc.pid);
        await waitFor(() => received.join("").includes('"event":"ready"'), 15_000, "the instance's ready line on the socket");
        const r = await runRodent(["restart", "--pid-file", pidFile], { env: { HOME: dir }, runtime, timeoutMs: 45_000 });
        expect(r.code).toBe(0);
        const now = pidIn(pidFile);
        track(now);
        await waitFor(() => received.join("").includes(`took over from PID ${proc.pid}`), 10_000, "the successor's line on the socket");
        expect(received.join("")).toContain(`"pid":${now}`);
      } finally {
        server.close();
      }
    }, 60_000);
  }
});

describe("one restart at a time, and the truth about who serves", () => {
  for (const runtime of ["bun", "node"] as const) {
    test(`two concurrent restarts (${runtime}): one replaces the instance, the other says one is in progress`, async () => {
      const dir = tempDir();
      const file = join(dir, "rodent.yml");
      // the old instance lingers 2 s after the hand-over, so the first restart is still under way
      writeFileSync(file, "server:\n  shutdownDelay: 2s\n");
      const pidFile = join(dir, "rodent.pid");
      const port = await freePort();
      const env = { HOME: dir };
      expect((await runRodent(["serve", "-d", "-c", file, "--port", String(port), "--pid-file", pidFile, "--log-file", join(dir, "rodent.log")], { env, runtime })).code).toBe(0);
      const before = pidIn(pidFile);
      track(before);
      const [a, b] = await Promise.all([0, 1].map(() => runRodent(["restart", "--pid-file", pidFile], { env, runtime, timeoutMs: 45_000 })));
      track(pidIn(pidFile));
      const results = [a!, b!].sort((x, y) => x.code - y.code);
      expect(results.map((x) => x.code)).toEqual([0, 1]);
      expect(results[0]!.stdout).toContain(`PID ${before} → PID ${pidIn(pidFile)}`);
      expect(results[1]!.stderr).toContain("another restart of this instance is in progress");
      expect(results[1]!.stderr).not.toContain("keeps serving");
      expect(existsSync(`${pidFile}.restart`)).toBe(false);
      expect((await getJson(`http://127.0.0.1:${port}/health`)).pid).toBe(pidIn(pidFile));
    }, 60_000);
  }

  for (const runtime of ["bun", "node"] as const) {
    test(`an instance (${runtime}) that dies while a restart waits for it: restart says nothing serves now, never that it keeps serving`, async () => {
      const dir = tempDir();
      const pidFile = join(dir, "rodent.pid");
      const env = { HOME: dir };
      expect((await runRodent(["serve", "-d", "--port", String(await freePort()), "--pid-file", pidFile, "--log-file", join(dir, "rodent.log")], { env, runtime })).code).toBe(0);
      const old = pidIn(pidFile);
      track(old);
      const usr2 = (field: string) => (BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)$`, "m").exec(readFileSync(`/proc/${old}/status`, "utf8"))?.[1] ?? "0"}`) >> 11n) & 1n;
      // the runtime may install its SIGUSR2 handler a moment after the instance said ready: only an
      // instance that catches it is sent it (an older one is restarted from the command line)
      await waitFor(() => usr2("SigCgt") === 1n, 10_000, "the instance catching SIGUSR2");
      // stopped, it cannot act on the restart signal; it dies with the signal still pending
      process.kill(old, "SIGSTOP");
      const restarting = runRodent(["restart", "--pid-file", pidFile], { env, runtime, timeoutMs: 45_000 });
      const pending = () => usr2("ShdPnd");
      // a restart that ends before it signals says why here, instead of a bare timeout
      let ended: string | undefined;
      void restarting.then((r) => (ended = `restart exited ${r.code} before SIGUSR2 was pending: ${r.stdout}${r.stderr}`));
      await waitFor(() => pending() === 1n || ended !== undefined, 15_000, () => `SIGUSR2 pending at the stopped instance (ShdPnd ${pending()}, SigPnd ${usr2("SigPnd")}, state ${/^State:\s*(.*)$/m.exec(readFileSync(`/proc/${old}/status`, "utf8"))?.[1]})`);
      expect(ended).toBeUndefined();
      process.kill(old, "SIGKILL");
      const r = await restarting;
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain("keeps serving");
      expect(r.stderr).toContain(`PID ${old} exited during the restart`);
      expect(r.stderr).toContain(`no instance holds ${pidFile} now`);
      expect(r.stderr.trim().split("\n").filter((line) => !line.startsWith("rodent: warning:"))).toHaveLength(1);
    }, 60_000);
  }

  test("a restart of an instance that is shutting down says so at once instead of waiting for an outcome", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "server:\n  shutdownDelay: 5s\n");
    const pidFile = join(dir, "rodent.pid");
    const env = { HOME: dir };
    expect((await runRodent(["serve", "-d", "-c", file, "--port", String(await freePort()), "--pid-file", pidFile, "--log-file", join(dir, "rodent.log")], { env })).code).toBe(0);
    const old = pidIn(pidFile);
    track(old);
    process.kill(old, "SIGTERM");
    await waitFor(() => readFileSync(`${pidFile}.status`, "utf8").includes('"state":"draining"'), 5000, "the instance draining");
    const startedAt = Date.now();
    const r = await runRodent(["restart", "--pid-file", pidFile], { env, timeoutMs: 45_000 });
    expect(r.code).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(3000);
    expect(r.stderr).toContain(`PID ${old} is shutting down`);
  }, 30_000);

  test("a restart lock left by a killed restart is taken over; a symlink planted at its path is refused and left alone", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    const port = await freePort();
    const env = { HOME: dir };
    expect((await runRodent(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", join(dir, "rodent.log")], { env })).code).toBe(0);
    track(pidIn(pidFile));
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    writeFileSync(`${pidFile}.restart`, `${gone.pid}\n`);
    const first = await runRodent(["restart", "--pid-file", pidFile], { env, timeoutMs: 45_000 });
    expect(first.code).toBe(0);
    track(pidIn(pidFile));
    expect(existsSync(`${pidFile}.restart`)).toBe(false);
    const target = join(dir, "precious");
    writeFileSync(target, "keep\n");
    symlinkSync(target, `${pidFile}.restart`);
    const second = await runRodent(["restart", "--pid-file", pidFile], { env, timeoutMs: 45_000 });
    expect(second.code).toBe(1);
    expect(second.stderr.trim().split("\n")).toHaveLength(1);
    expect(second.stderr).toContain(`${pidFile}.restart is not a restart lock`);
    expect(readFileSync(target, "utf8")).toBe("keep\n");
  }, 60_000);
});

describe("the working directory does not pick the target", () => {
  /** A directory of the second user's with their rodent.yml naming a FIFO as the PID file. */
  function planted(): { dir: string; fifo: string; file: string } {
    const dir = join(tempDir(), "theirs");
    mkdirSync(dir);
    const fifo = join(dir, "trap.pid");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const file = join(dir, "rodent.yml");
    writeFileSync(file, `server:\n  pidFile: ${fifo}\n  port: 1\n`);
    for (const path of [dir, fifo, file]) chownSync(path, other!.uid, other!.gid);
    return { dir, fifo, file };
  }

  test.skipIf(!other)("root's status, stop and restart in a directory where another user planted rodent.yml answer about the default PID file, at once", async () => {
    const { dir, fifo } = planted();
    const home = tempDir();
    for (const command of ["status", "stop", "restart", "reload"]) {
      const r = await runRodent([command, ...(command === "status" ? ["--json"] : [])], { cwd: dir, env: { HOME: home }, timeoutMs: 5000 });
      expect(`${r.stdout}${r.stderr}`).not.toContain(fifo);
      if (command === "status") expect(JSON.parse(r.stdout).pidFile).toBe("/run/rodent/rodent.pid");
    }
  }, 30_000);

  test.skipIf(!other)("serve refuses a config file owned by another user, named or found in the working directory, with one line naming it and its owner", async () => {
    const { dir, file } = planted();
    const home = tempDir();
    const port = String(await freePort());
    for (const args of [["serve", "-c", file], ["serve"]]) {
      const r = await runRodent([...args, "--port", port, "--pid-file", join(home, "rodent.pid")], { cwd: dir, env: { HOME: home }, timeoutMs: 10_000 });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(`config file ${file} is owned by rodent-other (uid ${other!.uid})`);
    }
  }, 30_000);
});

describe("serve -d in a shared directory", () => {
  test("a symlink at the log file's path is refused with one line; its target is not written", async () => {
    const dir = tempDir();
    const target = join(dir, "precious");
    writeFileSync(target, "keep\n");
    const log = join(dir, "rodent.log");
    symlinkSync(target, log);
    const r = await runRodent(["serve", "-d", "--port", String(await freePort()), "--pid-file", join(dir, "rodent.pid"), "--log-file", log], { env: { HOME: dir }, timeoutMs: 15_000 });
    if (existsSync(join(dir, "rodent.pid"))) track(pidIn(join(dir, "rodent.pid")));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`log file ${log} is a symbolic link`);
    expect(readFileSync(target, "utf8")).toBe("keep\n");
  });
});
