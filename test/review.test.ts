// An outside review of issue 16's hardening: what a second local user, descriptor exhaustion and an
// operator reading `rodent status` still found after the fixes were merged.
import { describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { asOther, BIN, BUNDLE, expectOneLine, freePort, otherUser, runRodent, spawnRodent, startServer, tempDir, track, waitFor } from "./helpers";

const RUNTIMES = ["bun", "node"] as const;
const other = otherUser();
/** Runs only as root, where a second local user can be made; skipped otherwise (the attack needs two users). */
const attack = other ? test : test.skip;
if (!other) console.warn("review attacks skipped: they need root to create the second user rodent-other");

describe("rodent logs does not trust the log path", () => {
  // The other user runs their own instance in a sticky directory, then swaps its log file for
  // something else; root runs `rodent logs` on that instance (its record names the path).
  attack("a FIFO, a symlink to a root-only file, a device or a file it does not own at the instance's log path is refused in one line, without hanging (both CLIs)", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o1777);
    const secret = join(tempDir(), "secret");
    writeFileSync(secret, "root-only-secret\n", { mode: 0o600 });
    const pidFile = join(dir, "o.pid");
    const log = join(dir, "o.log");
    const port = await freePort();
    const s = spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile, "--log-file", log], { wrap: other!.run, env: { HOME: dir } });
    await waitFor(() => existsSync(`${pidFile}.status`) && readFileSync(log, "utf8").includes('"ready"'), 15_000, () => `the other user's instance ready: ${s.output()}`);
    // the genuine log is read
    expect((await runRodent(["logs", "--pid-file", pidFile, "-n", "1"])).stdout).toContain('"event":"ready"');
    asOther(["mv", log, `${log}.real`]);
    const plants: [string, () => void, RegExp][] = [
      ["FIFO", () => asOther(["mkfifo", log]), /is not a regular file \(a FIFO\)/],
      ["symlink", () => asOther(["ln", "-s", secret, log]), /is a symbolic link/],
      ["device", () => asOther(["ln", "-s", "/dev/zero", log]), /is a symbolic link/],
      ["root's file", () => writeFileSync(log, "root-owned\n"), /owned by uid 0, not uid \d+/],
    ];
    for (const [what, plant, message] of plants) {
      Bun.spawnSync(["rm", "-f", log]);
      plant();
      for (const runtime of RUNTIMES) {
        const r = await runRodent(["logs", "--pid-file", pidFile, "-n", "5", ...(what === "FIFO" ? ["-f"] : [])], { runtime, timeoutMs: 10_000 });
        expect({ what, runtime, code: r.code, stdout: r.stdout }).toEqual({ what, runtime, code: 1, stdout: "" });
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toContain(log);
        expectOneLine(r.stderr);
      }
    }
    s.signal("SIGTERM");
    await s.exited();
  });

  test("a relative --log-file is read from the instance's directory, not from where logs runs", async () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, "rel.log"), "decoy\n");
    const pidFile = join(dir, "r.pid");
    const s = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile, "--log-file", "rel.log"], { cwd: dir, env: { HOME: dir } });
    await waitFor(() => existsSync(join(dir, "rel.log")) && readFileSync(join(dir, "rel.log"), "utf8").includes('"ready"'), 15_000, () => `ready: ${s.output()}`);
    for (const runtime of RUNTIMES) {
      const r = await runRodent(["logs", "--pid-file", pidFile, "-n", "1"], { cwd: elsewhere, runtime });
      expect({ runtime, code: r.code, stderr: r.stderr }).toEqual({ runtime, code: 0, stderr: "" });
      expect(r.stdout).toContain('"event":"ready"');
    }
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });

  test("--log-file naming a FIFO is refused in one line instead of blocking (both CLIs)", async () => {
    const dir = tempDir();
    const fifo = join(dir, "log.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    for (const runtime of RUNTIMES) {
      const r = await runRodent(["logs", "--log-file", fifo], { runtime, timeoutMs: 10_000 });
      expect({ runtime, code: r.code }).toEqual({ runtime, code: 1 });
      expect(r.stderr).toContain(`log file ${fifo} is not a regular file (a FIFO)`);
      expectOneLine(r.stderr);
    }
  });
});

describe("what another user's status record says", () => {
  // The record of the other user's instance is theirs to write: root's `rodent status` may print
  // it, but never let it drive root's terminal, and never crash on a field of the wrong type.
  attack("reaches root's terminal with control characters escaped, and a field of the wrong type makes it ignored, not a crash", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o1777);
    const pidFile = join(dir, "o.pid");
    const port = await freePort();
    const s = spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile], { wrap: other!.run, env: { HOME: dir, RODENT_HEALTH_INTERVAL: "10m" } });
    await waitFor(() => existsSync(`${pidFile}.status`) && readFileSync(`${pidFile}.status`, "utf8").includes('"ready"'), 15_000, () => `ready: ${s.output()}`);
    const forge = (fields: Record<string, unknown>) => asOther(["/usr/bin/python3", "-c", [
      "import json, os, sys, datetime",
      `p = ${JSON.stringify(`${pidFile}.status`)}`,
      "r = json.load(open(p)); r.update(json.loads(sys.argv[1])); r['updatedAt'] = datetime.datetime.now(datetime.timezone.utc).isoformat().replace('+00:00', 'Z')",
      "open(p + '.x', 'w').write(json.dumps(r)); os.rename(p + '.x', p)",
    ].join("\n"), JSON.stringify(fields)]);
    forge({ state: "ready\x1b]0;owned\x07\x1b[2J", version: "0.1.0\r  state:    forged\u009b31m", logReopenError: "x\ny" });
    const text = await runRodent(["status", "--pid-file", pidFile]);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(text.stdout).toContain("state:    ready\\x1b]0;owned\\x07\\x1b[2J\n");
    expect(text.stdout).toContain("0.1.0\\x0d  state:    forged\\x9b31m");
    const json = await runRodent(["status", "--pid-file", pidFile, "--json"]);
    expect(json.stdout).not.toMatch(/[\x7f-\x9f]/);
    expect(JSON.parse(json.stdout).version).toBe("0.1.0\r  state:    forged\u009b31m");
    forge({ runtime: 5 });
    const r = await runRodent(["status", "--pid-file", pidFile]);
    expect(r.stderr).not.toContain("unexpected error");
    expect(r.stdout).toContain("is not a status record (runtime is not a string)");
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });
});

describe("the log file a daemon writes in a shared directory", () => {
  // root's daemon logs into a sticky directory where the other user planted names in advance, or
  // after a rotation moved the file away: it must never append to a file through them.
  attack("is never written through another user's symlink or file, or a hard link, at start or on reopen (both runtimes)", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o1777);
    const victim = join(tempDir(), "victim");
    writeFileSync(victim, "victim\n", { mode: 0o600 });
    asOther(["ln", "-s", victim, join(dir, "link.log")]);
    asOther(["touch", join(dir, "theirs.log")]);
    Bun.spawnSync(["ln", victim, join(dir, "hard.log")]);
    const cases: [string, RegExp][] = [
      ["link.log", /is a symbolic link owned by uid \d+; rodent does not follow another user's link/],
      ["theirs.log", /is owned by uid \d+; rodent writes only its own log file/],
      ["hard.log", /has 2 names \(hard links\)/],
    ];
    for (const runtime of RUNTIMES) {
      for (const [name, message] of cases) {
        const r = await runRodent(["serve", "--port", String(await freePort()), "--pid-file", join(dir, "r.pid"), "--log-file", join(dir, name)], { runtime, timeoutMs: 10_000 });
        expect({ runtime, name, code: r.code }).toEqual({ runtime, name, code: 1 });
        expect(r.stderr).toMatch(message);
        expectOneLine(r.stderr);
      }
    }
    expect(readFileSync(victim, "utf8")).toBe("victim\n");
    expect(readFileSync(join(dir, "theirs.log"), "utf8")).toBe("");
    // rotated away, then the other user is first to the name: the reopen refuses and says so
    const log = join(dir, "rodent.log");
    const s = await startServer(["--log-file", log]);
    renameSync(log, `${log}.1`);
    asOther(["ln", "-s", victim, log]);
    s.signal("SIGUSR1");
    const json = await waitFor(async () => {
      const j = JSON.parse((await runRodent(["status", "--pid-file", s.pidFile, "--json"])).stdout);
      return j.logReopenError ? j : undefined;
    }, 10_000, "the refused reopen in status");
    expect(json.logReopenError).toMatch(/symbolic link owned by uid/);
    await fetch(`${s.url}/health`);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("victim\n");
    expect(readFileSync(`${log}.1`, "utf8")).toContain('"event":"log-reopen-failed"');
  });
});

describe("rodent logs -f", () => {
  for (const runtime of RUNTIMES) {
    test(`ends once its reader is gone (logs -f | head -1, ${runtime})`, async () => {
      const dir = tempDir();
      const log = join(dir, "r.log");
      writeFileSync(log, "one\ntwo\n");
      const cli = runtime === "node" ? `node "${BUNDLE}"` : `"${BIN}"`;
      const pipeline = Bun.spawn(["bash", "-c", `${cli} logs --log-file "${log}" -n 1 -f | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { stdout: "pipe", stderr: "pipe" });
      track(pipeline.pid);
      // lines keep arriving after head has gone: each write finds the pipe closed
      let ended = false;
      void pipeline.exited.then(() => (ended = true));
      for (let i = 0; i < 200 && !ended; i++) {
        appendFileSync(log, `line ${i}\n`);
        await Bun.sleep(50);
      }
      const code = await Promise.race([pipeline.exited, Bun.sleep(5000).then(() => "rodent logs -f still running after its reader left")]);
      if (typeof code === "string") killChildren(pipeline.pid);
      expect(code).toBe(0);
      expect((await new Response(pipeline.stdout).text()).trim()).toBe("0");
    });
  }
});

describe("another user's config file", () => {
  // root runs rodent in a sticky directory where the other user flips ./rodent.yml, a symlink,
  // between a root-owned file and their own: the owner must be judged on the file actually read
  attack("is never loaded through a symlink flipped between the owner check and the read", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o1777);
    writeFileSync(join(dir, "root.yml"), "server:\n  port: 8042\n");
    asOther(["sh", "-c", `printf 'server:\\n  port: 6666\\n' > ${dir}/evil.yml && ln -s ${dir}/root.yml ${dir}/a && ln -s ${dir}/evil.yml ${dir}/b && ln -s ${dir}/root.yml ${dir}/rodent.yml`]);
    const flip = `import os\nwhile True:\n  os.rename("a", "rodent.yml"); os.symlink("root.yml", "a")\n  os.rename("b", "rodent.yml"); os.symlink("evil.yml", "b")\n`;
    const swapper = Bun.spawn(other!.run(["timeout", "60", "python3", "-c", flip]), { cwd: dir, stdout: "ignore", stderr: "ignore" });
    track(swapper.pid);
    try {
      let loaded = 0;
      for (let i = 0; i < 100; i++) {
        const r = await runRodent(["config", "print", "--json"], { cwd: dir, timeoutMs: 10_000 });
        if (r.stdout.includes("6666")) loaded++;
        else if (r.code !== 0) expect(r.stderr).toMatch(/owned by rodent-other|no such file|not a regular file/);
      }
      expect({ loadedTheOtherUsersFile: loaded }).toEqual({ loadedTheOtherUsersFile: 0 });
    } finally {
      swapper.kill("SIGKILL");
    }
  });
});

describe("a config that cannot be loaded", () => {
  for (const runtime of RUNTIMES) {
    test(`is written to --log-file too, and once on stderr (${runtime})`, async () => {
      const dir = tempDir();
      const config = join(dir, "bad.yml");
      writeFileSync(config, 'server:\n  port: "abc"\n');
      const log = join(dir, "rodent.log");
      const r = await runRodent(["serve", "-c", config, "--log-file", log, "--pid-file", join(dir, "r.pid")], { runtime });
      expect(r.code).toBe(1);
      expectOneLine(r.stderr);
      expect(r.stderr).toContain("server.port");
      const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "error", event: "start-failed" });
      expect(lines[0].msg).toContain("server.port: expected a port number");
      expect(existsSync(join(dir, "r.pid"))).toBe(false);
    });
  }
});

describe("SIGTERM while every descriptor is taken", () => {
  for (const runtime of RUNTIMES) {
    test(`drains, exits 0 and removes its PID file (ulimit -n 64, ${runtime})`, async () => {
      const dir = tempDir();
      const port = await freePort();
      const pidFile = join(dir, "r.pid");
      const log = join(dir, "r.log");
      const cmd = runtime === "node" ? `exec node "${BUNDLE}"` : `exec "${BIN}"`;
      const r = Bun.spawn(["bash", "-c", `ulimit -n 64 && ${cmd} serve --port ${port} --pid-file "${pidFile}" --log-file "${log}"`], { env: { ...process.env, HOME: dir }, stdout: "ignore", stderr: "ignore" });
      track(r.pid);
      const url = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status === 200);
      // more idle connections than descriptors: the process is at its limit when SIGTERM comes
      const sockets: Socket[] = [];
      await Promise.all(Array.from({ length: 120 }, () => new Promise<void>((resolve) => {
        const sock = connect(port, "127.0.0.1");
        sockets.push(sock);
        sock.on("connect", () => resolve()).on("error", () => resolve()).on("close", () => resolve());
        setTimeout(resolve, 2000);
      })));
      await waitFor(() => readdirCount(r.pid) >= 60, 5000, "the instance's descriptors exhausted");
      r.kill("SIGTERM");
      const code = await Promise.race([r.exited, Bun.sleep(15_000).then(() => "still running 15 s after SIGTERM")]);
      for (const sock of sockets) sock.destroy();
      if (typeof code === "string") r.kill("SIGKILL");
      const text = readFileSync(log, "utf8");
      expect({ code, fatal: text.includes('"event":"fatal"'), pidFileLeft: existsSync(pidFile) }).toEqual({ code: 0, fatal: false, pidFileLeft: false });
      expect(text).not.toContain("changed by hand");
    });
  }
});

/** Kills, by PID, the children of a shell this test started (a pipeline left running). */
function killChildren(pid: number): void {
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) process.kill(Number(child), "SIGKILL");
  } catch {
    // already gone
  }
}

function readdirCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

describe("rodent status shows what the instance uses", () => {
  for (const runtime of RUNTIMES) {
    test(`memory, CPU time and open connections, as text and --json (${runtime})`, async () => {
      // ready by its status record, not by a request: no keep-alive connection of the test's own
      const dir = tempDir();
      const port = await freePort();
      const pidFile = join(dir, "rodent.pid");
      const s = { ...spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile], { runtime, env: { HOME: dir } }), port, pidFile };
      const status = async () => JSON.parse((await runRodent(["status", "--pid-file", pidFile, "--json"])).stdout);
      await waitFor(async () => (await status()).state === "ready", 15_000, () => `ready: ${s.output()}`);
      expect((await status()).connections).toBe(0);
      const sockets: Socket[] = [];
      for (let i = 0; i < 3; i++) sockets.push(connect(s.port, "127.0.0.1"));
      // a connection the instance accepted answers; one request each proves it was accepted
      await Promise.all(sockets.map((sock) => new Promise<void>((resolve) => {
        sock.once("data", () => resolve());
        sock.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      })));
      const json = JSON.parse((await runRodent(["status", "--pid-file", s.pidFile, "--json"])).stdout);
      expect(json.connections).toBe(3);
      expect(json.rssBytes).toBeGreaterThan(1 << 20);
      expect(typeof json.cpuMs).toBe("number");
      expect(json.cpuMs).toBeGreaterThanOrEqual(0);
      const text = (await runRodent(["status", "--pid-file", s.pidFile])).stdout;
      expect(text).toMatch(/^ {2}memory: +\d+\.\d MiB resident$/m);
      expect(text).toMatch(/^ {2}cpu: +\d+\.\d\d s$/m);
      expect(text).toMatch(/^ {2}clients: +3 open connections$/m);
      for (const sock of sockets) sock.destroy();
      await waitFor(async () => JSON.parse((await runRodent(["status", "--pid-file", s.pidFile, "--json"])).stdout).connections === 0, 10_000, "connections back to 0");
      s.signal("SIGTERM");
      expect(await s.exited()).toBe(0);
    });
  }

  test("a failed log reopen is shown by status, as text and --json", async () => {
    const dir = tempDir();
    const logDir = join(dir, "logs");
    mkdirSync(logDir);
    const log = join(logDir, "rodent.log");
    const s = await startServer(["--log-file", log], { env: { HOME: dir } });
    // rotated away, and the path now names a directory: the reopen cannot create the file
    renameSync(log, `${log}.1`);
    mkdirSync(log);
    s.signal("SIGUSR1");
    const json = await waitFor(async () => {
      const j = JSON.parse((await runRodent(["status", "--pid-file", s.pidFile, "--json"])).stdout);
      return j.logReopenError ? j : undefined;
    }, 10_000, "logReopenError in status --json");
    expect(json.logReopenError).toContain(log);
    const text = (await runRodent(["status", "--pid-file", s.pidFile])).stdout;
    expect(text).toMatch(/^ {2}log: +reopening the log file failed: .*still writing to the old file/m);
    s.signal("SIGTERM");
    await s.exited();
  });
});
