import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { expectOneLine, freePort, inBothRuntimes, isAlive, runRodent, spawnRodent, startServer, tempDir, track, waitFor } from "./helpers";

const readyOrExit = (dir: string) => ({ env: { HOME: dir } });

describe("single instance", () => {
  for (const start of ["no PID file", "a stale PID file"] as const) {
    test(`16 instances started at once on ${start}: exactly one runs, every other exits 1 naming it`, async () => {
      const dir = tempDir();
      const pidFile = join(dir, "rodent.pid");
      if (start === "a stale PID file") {
        const dead = Bun.spawn(["true"]);
        await dead.exited;
        writeFileSync(pidFile, `${dead.pid}\n`);
      }
      const ports = await Promise.all(Array.from({ length: 16 }, () => freePort()));
      const all = ports.map((port) => spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile], readyOrExit(dir)));
      const ownPid = (r: { pid: number }) => readFileSync(pidFile, "utf8") === `${r.pid}\n`;
      const winnerPid = await waitFor(() => {
        try {
          return all.find(ownPid)?.pid;
        } catch {
          return undefined;
        }
      });
      const losers = all.filter((r) => r.pid !== winnerPid);
      expect(losers).toHaveLength(15);
      const codes = await Promise.all(losers.map((r) => r.exited(30_000)));
      expect(codes).toEqual(Array(15).fill(1));
      for (const loser of losers) {
        expect(loser.output()).toContain(`another instance is already running (PID: ${winnerPid}`);
        expect(loser.output()).toContain(pidFile);
      }
      const winner = all.find((r) => r.pid === winnerPid)!;
      expect(isAlive(winner.pid)).toBe(true);
      expect(readFileSync(pidFile, "utf8")).toBe(`${winnerPid}\n`);
      winner.signal("SIGTERM");
      expect(await winner.exited()).toBe(0);
      expect(existsSync(pidFile)).toBe(false);
    });
  }

  test("a stale PID file naming a dead process is taken over", async () => {
    const dir = tempDir();
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    writeFileSync(join(dir, "rodent.pid"), `${dead.pid}\n`);
    const s = await startServer([], { env: { HOME: dir } });
    expect(readFileSync(s.pidFile, "utf8")).toBe(`${s.pid}\n`);
  });

  test("an empty PID file counts as stale", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "rodent.pid"), "");
    const s = await startServer([], { env: { HOME: dir } });
    expect(readFileSync(s.pidFile, "utf8")).toBe(`${s.pid}\n`);
  });

  test("a PID file naming a live unrelated process is stale, and that process is left alone", async () => {
    const dir = tempDir();
    const sleeper = Bun.spawn(["sleep", "30"]);
    track(sleeper.pid);
    writeFileSync(join(dir, "rodent.pid"), `${sleeper.pid}\n`);
    const s = await startServer([], { env: { HOME: dir } });
    expect(readFileSync(s.pidFile, "utf8")).toBe(`${s.pid}\n`);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(isAlive(sleeper.pid)).toBe(true);
  });

  test("a foreign file at the PID path is never overwritten: exit 1, file unchanged", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    const passwd = readFileSync("/etc/passwd", "utf8");
    writeFileSync(pidFile, passwd);
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], readyOrExit(dir));
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain(`${pidFile} is a file that does not hold a PID, not a rodent PID file`);
    expect(readFileSync(pidFile, "utf8")).toBe(passwd);
  });

  test("a symlink at the PID path is refused and its target untouched", async () => {
    const dir = tempDir();
    const target = join(dir, "precious");
    writeFileSync(target, "keep me\n");
    const pidFile = join(dir, "rodent.pid");
    symlinkSync(target, pidFile);
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], readyOrExit(dir));
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain("is a symbolic link");
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
    expect(readlinkSync(pidFile)).toBe(target);
  });

  test("a directory at the PID path is refused", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    mkdirSync(pidFile);
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], readyOrExit(dir));
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain("is a directory");
    expect(lstatSync(pidFile).isDirectory()).toBe(true);
  });

  test("port in use: exit 1 naming the port, and no PID file left", async () => {
    const s = await startServer();
    const dir = tempDir();
    const pidFile = join(dir, "other.pid");
    const r = spawnRodent(["serve", "--port", String(s.port), "--pid-file", pidFile], readyOrExit(dir));
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain(`cannot listen on 127.0.0.1:${s.port}: port ${s.port} is in use`);
    expect(r.output()).toContain("--port");
    expect(existsSync(pidFile)).toBe(false);
    expect(existsSync(`${pidFile}.status`)).toBe(false);
  });

  test("a port another program holds with SO_REUSEPORT is in use too: rodent does not share it silently", async () => {
    // this test process holds the port with SO_REUSEPORT, as the same user: the kernel would let
    // rodent's own SO_REUSEPORT listener join it and split the connections between the two
    const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, reusePort: true, fetch: () => new Response("not rodent") });
    try {
      const dir = tempDir();
      const pidFile = join(dir, "shared.pid");
      const r = spawnRodent(["serve", "--port", String(holder.port), "--pid-file", pidFile], readyOrExit(dir));
      expect(await r.exited()).toBe(1);
      expect(r.output()).toContain(`cannot listen on 127.0.0.1:${holder.port}: port ${holder.port} is in use`);
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      holder.stop(true);
    }
  });

  test("a host name that does not resolve: one line naming it and the fix, on both runtimes (Bun said EEXIST)", async () => {
    await inBothRuntimes(async (runtime) => {
      const r = await runRodent(["serve", "--host", "nonexistent.invalid", "--port", String(await freePort())], { runtime });
      expect(r.code).toBe(1);
      expectOneLine(r.stderr);
      expect(r.stderr).toContain("cannot listen on nonexistent.invalid:");
      expect(r.stderr).toContain("host nonexistent.invalid does not resolve to an address: use an IP address such as --host 127.0.0.1");
    });
  });

  test("an IPv6 host written in brackets ([::1]) is served, as Bun.serve takes it (the exclusive port check must not refuse it)", async () => {
    const port = await freePort();
    const r = spawnRodent(["serve", "--host", "[::1]", "--port", String(port), "--pid-file", join(tempDir(), "v6.pid")]);
    await r.waitForOutput(/"event":"ready"/);
    expect((await fetch(`http://[::1]:${port}/health`)).status).toBe(200);
    r.signal("SIGTERM");
    expect(await r.exited()).toBe(0);
  });

  test("the lock is taken before the port: a second instance says already running, not port in use", async () => {
    const s = await startServer();
    const r = spawnRodent(["serve", "--port", String(s.port), "--pid-file", s.pidFile], readyOrExit(s.dir));
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain(`another instance is already running (PID: ${s.pid}`);
    expect(readFileSync(s.pidFile, "utf8")).toBe(`${s.pid}\n`);
  });

  test("after kill -9 of the owner the next start succeeds", async () => {
    const s = await startServer();
    s.signal("SIGKILL");
    await s.exited();
    expect(existsSync(s.pidFile)).toBe(true);
    const again = await startServer(["--pid-file", s.pidFile], { env: { HOME: s.dir } });
    expect(readFileSync(s.pidFile, "utf8")).toBe(`${again.pid}\n`);
  });

  test("RODENT_PID_PATH chooses the PID file when no flag does", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "from-env.pid");
    const port = await freePort();
    const r = spawnRodent(["serve", "--port", String(port)], { env: { HOME: dir, RODENT_PID_PATH: pidFile } });
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8") === `${r.pid}\n`);
    r.signal("SIGTERM");
    expect(await r.exited()).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });

  test("the default PID path of an ordinary user is under XDG_RUNTIME_DIR, its directory private", async () => {
    const dir = tempDir();
    const r = spawnRodent(["serve", "--port", String(await freePort())], { env: { HOME: dir, XDG_RUNTIME_DIR: dir }, unprivileged: true });
    const pidFile = join(dir, "rodent", "rodent.pid");
    await waitFor(() => existsSync(pidFile), 15_000, () => `PID file at ${pidFile}: ${r.output()}`);
    expect(lstatSync(join(dir, "rodent")).mode & 0o777).toBe(0o700);
    r.signal("SIGTERM");
    expect(await r.exited()).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });

  test("a PID directory that cannot be created fails with the path and a fix", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "");
    const pidFile = join(dir, "file", "sub", "rodent.pid");
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], readyOrExit(dir));
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain(`cannot create PID file ${pidFile}`);
    expect(r.output()).toContain("choose another --pid-file");
  });

  test("a PID file on a read-only path fails with one clear line", async () => {
    const pidFile = "/proc/rodent-test.pid";
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile]);
    expect(await r.exited()).toBe(1);
    expect(r.output()).toMatch(new RegExp(`rodent: cannot create PID file ${pidFile}: .*--pid-file`));
  });

  test("a PID directory without write permission fails naming the path and the fix", async () => {
    const dir = tempDir();
    const locked = join(dir, "locked");
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    const pidFile = join(locked, "rodent.pid");
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], { env: { HOME: dir }, unprivileged: true });
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain(`rodent: cannot create PID file ${pidFile}: permission denied`);
  });

  test("as PID 1 (a container restarted after an unclean exit) a leftover PID file naming PID 1 is stale: it starts", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "rodent.pid");
    writeFileSync(pidFile, "1\n");
    const port = await freePort();
    // a new PID namespace with its own /proc: rodent runs as PID 1, as in the shipped Dockerfile
    const r = spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile], {
      env: { HOME: dir },
      wrap: (cmd) => ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", ...cmd],
    });
    await waitFor(() => fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) }).then((res) => res.status === 200, () => false), 15_000, `ready as PID 1: ${r.output()}`);
    expect(r.output()).not.toContain("already running");
    expect(readFileSync(pidFile, "utf8")).toBe("1\n");
    // unshare waits for its child: the instance is that child, known here by its host PID
    const child = Number(readFileSync(`/proc/${r.pid}/task/${r.pid}/children`, "utf8").trim());
    process.kill(child, "SIGTERM");
    expect(await r.exited()).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });
});
