// Zero-downtime restart and upgrade: rodent restart under steady load, with no proxy in front.
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { freePort, getJson, isAlive, migrateQueuedConnections, ROOT, runRodent, tempDir, track, waitFor } from "./helpers";

async function daemon(runtime: "bun" | "node", extra: string[] = []) {
  const dir = tempDir();
  const port = await freePort();
  const pidFile = join(dir, "rodent.pid");
  const env = { HOME: dir };
  const r = await runRodent(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", join(dir, "rodent.log"), ...extra], { env, runtime });
  expect(r.code).toBe(0);
  const pid = () => Number(readFileSync(pidFile, "utf8"));
  track(pid());
  return { dir, port, pidFile, pid, env, runtime, url: `http://127.0.0.1:${port}` };
}

/**
 * A copy of the binary or the bundle in a temp dir, running as a daemon: what an installer would
 * replace in place. `run` runs that copy's CLI.
 */
async function copiedDaemon(program: "rodent" | "rodent.mjs") {
  const home = tempDir();
  const file = join(home, program);
  copyFileSync(join(ROOT, "dist", program), file);
  const run = (args: string[]) => Bun.spawnSync(program === "rodent" ? [file, ...args] : ["node", file, ...args], { env: { ...process.env, HOME: home } });
  const port = await freePort();
  const pidFile = join(home, "rodent.pid");
  expect(run(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", join(home, "rodent.log")]).exitCode).toBe(0);
  track(Number(readFileSync(pidFile, "utf8")));
  return { home, file, run, port, pidFile };
}

/**
 * One raw keep-alive connection, as a client's pool holds it: `ask` sends a GET and reads one
 * response (head and Content-Length body) within 5 s, or says how the connection ended instead.
 */
async function keepAlive(port: number) {
  const socket: Socket = connect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  let received = "";
  let ended: string | undefined;
  socket.on("data", (chunk: string) => (received += chunk));
  socket.on("end", () => (ended ??= "closed by the server (FIN)"));
  socket.on("error", (error: NodeJS.ErrnoException) => (ended = `error ${error.code}`));
  await new Promise((resolve, reject) => (socket.once("connect", resolve), socket.once("error", reject)));
  const response = () => {
    const head = received.indexOf("\r\n\r\n");
    if (head < 0) return undefined;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(received.slice(0, head))?.[1] ?? 0);
    if (received.length < head + 4 + length) return undefined;
    const text = received.slice(0, head + 4 + length);
    received = received.slice(text.length);
    return { head: text.slice(0, head), body: text.slice(head + 4) };
  };
  return {
    async ask(path: string): Promise<{ head: string; body: string } | string> {
      if (ended) return ended;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      return (await waitFor(() => response() ?? ended, 5000, `a response to GET ${path}`))!;
    },
    close: () => socket.destroy(),
  };
}

describe("rodent restart", () => {
  describe("under steady load", () => {
    const migrate = migrateQueuedConnections();

    // Bun binds the successor beside the old one (SO_REUSEPORT); the Node bundle hands it the socket.
    for (const runtime of ["bun", "node"] as const) {
      test(`5 restarts in a row under steady load (${runtime}): zero failed requests and zero connection errors`, async () => {
        // The Node hand-over shares one socket, so nothing depends on the kernel migrating requests.
        if (runtime === "node" && migrate.before !== undefined) migrate.set("0");
        const d = await daemon(runtime);
        // the load runs until the restarts are done (wrk reports on SIGINT), at most 60 s
        const wrk = Bun.spawn(["wrk", "-t1", "-c16", "-d60s", "--timeout", "5s", `${d.url}/api/v1/rodent/version`], { stdout: "pipe", stderr: "pipe" });
        track(wrk.pid);
        // each instance serves a share of the load (its access lines: some 150 kB, 500 requests) before the next restart
        const log = join(d.dir, "rodent.log");
        const served = async (bytes: number) => {
          const from = statSync(log).size;
          await waitFor(() => statSync(log).size >= from + bytes, 10_000, () => `${bytes} more bytes of access log (the load reaching PID ${d.pid()})`);
        };
        await served(150_000);
        const pids = [d.pid()];
        for (let i = 0; i < 5; i++) {
          const r = await runRodent(["restart", "--pid-file", d.pidFile], { env: d.env, runtime, timeoutMs: 45_000 });
          expect(r.code).toBe(0);
          const now = d.pid();
          expect(r.stdout).toContain(`PID ${pids.at(-1)} → PID ${now}`);
          expect(isAlive(pids.at(-1)!)).toBe(false);
          track(now);
          pids.push(now);
          expect((await getJson(`${d.url}/health`)).pid).toBe(now);
          await served(150_000);
        }
        wrk.kill("SIGINT");
        const out = await new Response(wrk.stdout).text();
        await wrk.exited;
        const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
        expect(requests).toBeGreaterThan(1000);
        expect(out).not.toContain("Non-2xx");
        expect(out).not.toContain("Socket errors");
        expect(new Set(pids).size).toBe(6);
      }, 120_000);
    }
  });

  test("handing over, the old instance stops accepting at once but still answers a kept-alive connection (with Connection: close) until it has been quiet a second", async () => {
    // Bun's stop() closes every idle keep-alive connection at once, also one whose next request
    // has arrived but is not read yet: the client gets a reset for a request never answered.
    const d = await daemon("bun");
    const before = d.pid();
    const held = await keepAlive(d.port);
    try {
      const first = await held.ask("/health");
      expect(typeof first === "string" ? first : JSON.parse(first.body).pid).toBe(before);
      const restart = runRodent(["restart", "--pid-file", d.pidFile], { env: d.env, timeoutMs: 45_000 });
      // new connections reach only the successor now: the old listener is closed
      await waitFor(async () => {
        for (let i = 0; i < 6; i++) {
          const probe = await keepAlive(d.port).catch(() => undefined);
          const answer = await probe?.ask("/health");
          probe?.close();
          if (typeof answer !== "object" || JSON.parse(answer.body).pid === before) return false;
        }
        return true;
      }, 10_000, "new connections all reaching the successor");
      // the connection the old instance had open before the hand-over is still served, and told to close
      const second = await held.ask("/health");
      expect(typeof second === "string" ? second : JSON.parse(second.body).pid).toBe(before);
      expect(typeof second === "string" ? second : /\r\nconnection: close/i.test(second.head)).toBe(true);
      const r = await restart;
      expect(r.code).toBe(0);
      track(d.pid());
      expect(isAlive(before)).toBe(false);
    } finally {
      held.close();
    }
  }, 60_000);

  for (const runtime of ["bun", "node"] as const) {
    test(`a unix-socket instance (${runtime}) hands over too: 3 restarts under load, no failed request`, async () => {
      const dir = tempDir();
      const socket = join(dir, "rodent.sock");
      const pidFile = join(dir, "rodent.pid");
      const env = { HOME: dir };
      const r = await runRodent(["serve", "-d", "--socket", socket, "--pid-file", pidFile, "--log-file", join(dir, "rodent.log")], { env, runtime });
      expect(r.code).toBe(0);
      track(Number(readFileSync(pidFile, "utf8")));
      let stop = false;
      let done = 0;
      let failed = 0;
      const workers = Array.from({ length: 8 }, async () => {
        while (!stop && done < 100_000) {
          const ok = await fetch("http://localhost/api/v1/rodent/version", { unix: socket }).then((res) => res.status === 200, () => false);
          done++;
          if (!ok) failed++;
        }
      });
      for (let i = 0; i < 3; i++) {
        const before = Number(readFileSync(pidFile, "utf8"));
        const restarted = await runRodent(["restart", "--pid-file", pidFile], { env, runtime, timeoutMs: 30_000 });
        expect(restarted.code).toBe(0);
        const now = Number(readFileSync(pidFile, "utf8"));
        expect(now).not.toBe(before);
        track(now);
        await Bun.sleep(300);
      }
      stop = true;
      await Promise.all(workers);
      expect(done).toBeGreaterThan(300);
      expect(failed).toBe(0);
      expect(existsSync(socket)).toBe(true);
      expect((await runRodent(["stop", "--pid-file", pidFile], { env })).code).toBe(0);
      expect(existsSync(socket)).toBe(false);
    }, 60_000);
  }

  for (const runtime of ["bun", "node"] as const) {
    test(`a restart with a broken config leaves the old instance (${runtime}) serving and reports the error`, async () => {
      const dir = tempDir();
      const file = join(dir, "rodent.yml");
      writeFileSync(file, "server:\n  logLevel: info\n");
      const d = await daemon(runtime, ["-c", file]);
      const before = d.pid();
      writeFileSync(file, "server:\n  logLevel: loud\n");
      const r = await runRodent(["restart", "--pid-file", d.pidFile], { env: d.env, runtime, timeoutMs: 45_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the new instance failed; PID ${before} keeps serving`);
      expect(r.stderr).toContain("server.logLevel");
      expect(d.pid()).toBe(before);
      expect((await getJson(`${d.url}/health`)).pid).toBe(before);
      // and it can still be restarted once the config is fixed
      writeFileSync(file, "server:\n  logLevel: warn\n");
      const fixed = await runRodent(["restart", "--pid-file", d.pidFile], { env: d.env, runtime, timeoutMs: 45_000 });
      expect(fixed.code).toBe(0);
      track(d.pid());
      expect(d.pid()).not.toBe(before);
      expect((await getJson(`${d.url}/health`)).pid).toBe(d.pid());
    }, 60_000);
  }

  test("a Node instance hands over to a changed port: the successor binds the new one", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    const pidFile = join(dir, "rodent.pid");
    const env = { HOME: dir };
    const first = await freePort();
    writeFileSync(file, `server:\n  port: ${first}\n`);
    const started = await runRodent(["serve", "-d", "-c", file, "--pid-file", pidFile, "--log-file", join(dir, "rodent.log")], { env, runtime: "node" });
    expect(started.code).toBe(0);
    const before = Number(readFileSync(pidFile, "utf8"));
    track(before);
    const second = await freePort();
    writeFileSync(file, `server:\n  port: ${second}\n`);
    const r = await runRodent(["restart", "--pid-file", pidFile], { env, runtime: "node", timeoutMs: 45_000 });
    expect(r.code).toBe(0);
    const now = Number(readFileSync(pidFile, "utf8"));
    track(now);
    expect(now).not.toBe(before);
    expect(r.stdout).toContain(`on 127.0.0.1:${second}`);
    expect((await getJson(`http://127.0.0.1:${second}/health`)).pid).toBe(now);
    expect(await fetch(`http://127.0.0.1:${first}/health`).then(() => "answered", () => "refused")).toBe("refused");
  }, 60_000);

  test("replacing the binary or the bundle then restarting is an upgrade: the new version answers", async () => {
    const dir = tempDir();
    const build = Bun.spawnSync(
      ["bun", "build.ts", "--outfile", join(dir, "rodent.new"), "--node-outfile", join(dir, "rodent.mjs.new"), "--version", "9.9.9-upgrade"],
      { cwd: ROOT, env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` } },
    );
    expect(build.exitCode).toBe(0);
    for (const [program, fresh] of [["rodent", "rodent.new"], ["rodent.mjs", "rodent.mjs.new"]] as const) {
      const { home, file, run, port, pidFile } = await copiedDaemon(program);
      const url = `http://127.0.0.1:${port}`;
      const oldVersion = (await getJson(`${url}/api/v1/rodent/version`)).version;
      // replace the file the way an installer does: a new inode renamed over the old path
      Bun.spawnSync(["mv", join(dir, fresh), file]);
      const r = run(["restart", "--pid-file", pidFile]);
      expect(r.exitCode).toBe(0);
      track(Number(readFileSync(pidFile, "utf8")));
      expect(oldVersion).not.toBe("9.9.9-upgrade");
      expect((await getJson(`${url}/api/v1/rodent/version`)).version).toBe("9.9.9-upgrade");
      expect(run(["stop", "--pid-file", pidFile]).exitCode).toBe(0);
    }
  }, 90_000);

  // The successor is the program now at the instance's path, and restart runs only from that same
  // program: a bundle replaced by one that still runs the CLI but crashes when it serves. (A
  // compiled binary cannot be both; its failed-successor path is the broken-config test above.)
  test("a successor that crashes before ready (the bundle replaced by a broken one): exit 1, the old one keeps serving", async () => {
    const { home, file, port, pidFile } = await copiedDaemon("rodent.mjs");
    const before = Number(readFileSync(pidFile, "utf8"));
    // a new inode at the same path, as an installer leaves it
    const broken = join(home, "broken");
    writeFileSync(broken, `if (process.argv[2] === "restart") await import(${JSON.stringify(join(ROOT, "dist/rodent.mjs"))});\nelse process.kill(process.pid, "SIGSEGV");\n`);
    Bun.spawnSync(["mv", broken, file]);
    const asked = Bun.spawnSync(["node", file, "restart", "--pid-file", pidFile], { env: { ...process.env, HOME: home } });
    expect(asked.exitCode).toBe(1);
    expect(asked.stderr.toString()).toContain(`the new instance failed; PID ${before} keeps serving`);
    expect(asked.stderr.toString()).toContain("SIGSEGV");
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(before);
    expect((await getJson(`http://127.0.0.1:${port}/health`)).pid).toBe(before);
  }, 60_000);

  test("restart from another rodent than the instance runs (a different copy) refuses with one line and starts nothing", async () => {
    const { home, pidFile, port } = await copiedDaemon("rodent");
    const before = Number(readFileSync(pidFile, "utf8"));
    const r = await runRodent(["restart", "--pid-file", pidFile], { env: { HOME: home } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`PID ${before} does not run this rodent`);
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(before);
    expect((await getJson(`http://127.0.0.1:${port}/health`)).pid).toBe(before);
  });

  test("restart with nothing running says so and exits 1", async () => {
    const dir = tempDir();
    const r = await runRodent(["restart", "--pid-file", join(dir, "none.pid")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("rodent is not running");
  });
});
