// Operations: systemd notify and watchdog, socket activation, PID 1 in a PID namespace, probes.
import { beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, BUNDLE, freePort, needTool, ROOT, runRodent, spawnRodent, startServer, tempDir, track, waitFor, type Running } from "./helpers";


/** A unix datagram socket that records what rodent sends to NOTIFY_SOCKET. */
async function notifySocket(name: string) {
  const proc = Bun.spawn(["python3", join(ROOT, "test/fixtures/notify_listen.py"), name], { stdout: "pipe", stderr: "inherit" });
  track(proc.pid);
  const messages: string[] = [];
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  void (async () => {
    let buffer = "";
    for await (const chunk of proc.stdout) {
      buffer += new TextDecoder().decode(chunk);
      for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (line === "listening") ready();
        else messages.push(JSON.parse(line) as string);
      }
    }
  })();
  await listening;
  return { messages, stop: () => proc.kill() };
}

describe("systemd notify", () => {
  for (const kind of ["a socket path", "an abstract socket"] as const) {
    test(`READY with MAINPID, RELOADING with MONOTONIC_USEC then READY, WATCHDOG, STOPPING: to ${kind}`, async () => {
      const dir = tempDir();
      const name = kind === "a socket path" ? join(dir, "notify.sock") : `@rodent-test-${process.pid}-${Date.now()}`;
      const sd = await notifySocket(name);
      const port = await freePort();
      const r = spawnRodent(["serve", "--port", String(port), "--pid-file", join(dir, "r.pid")], { env: { HOME: dir, NOTIFY_SOCKET: name, WATCHDOG_USEC: "200000" } });
      await waitFor(() => sd.messages.some((m) => m.startsWith("READY=1")), 10_000, "READY=1");
      const readyMsg = sd.messages.find((m) => m.startsWith("READY=1"))!;
      expect(readyMsg).toContain(`MAINPID=${r.pid}`);
      expect(readyMsg).toContain(`STATUS=ready on 127.0.0.1:${port}`);
      await waitFor(() => sd.messages.filter((m) => m === "WATCHDOG=1").length >= 2, 5000, "two watchdog pings");
      r.signal("SIGHUP");
      await waitFor(() => sd.messages.filter((m) => m.startsWith("READY=1")).length >= 2, 5000, "READY=1 after the reload");
      const reloading = sd.messages.find((m) => m.startsWith("RELOADING=1"))!;
      const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(reloading)![1]!);
      // CLOCK_MONOTONIC counts from boot: compare with /proc/uptime (boot time, a little larger)
      const uptimeUsec = BigInt(Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1e6));
      expect(usec).toBeGreaterThan(uptimeUsec - 120_000_000n);
      expect(usec).toBeLessThanOrEqual(uptimeUsec + 1_000_000n);
      expect(sd.messages.indexOf(reloading)).toBeLessThan(sd.messages.findLastIndex((m) => m.startsWith("READY=1")));
      r.signal("SIGTERM");
      expect(await r.exited()).toBe(0);
      expect(sd.messages.at(-1)).toBe("STOPPING=1\nSTATUS=draining");
      sd.stop();
    });
  }

  for (const runtime of ["bun", "node"] as const) {
    test(`a restart (${runtime}) names the successor as the main PID, and the successor says READY`, async () => {
      needTool("python3");
      if (runtime === "node") needTool("systemd-notify");
      const dir = tempDir();
      const sd = await notifySocket(join(dir, "notify.sock"));
      const pidFile = join(dir, "r.pid");
      const env = { HOME: dir, NOTIFY_SOCKET: join(dir, "notify.sock") };
      // systemd sets WATCHDOG_PID to the main PID it started: exec keeps the shell's PID
      const program = runtime === "bun" ? BIN : `node ${BUNDLE}`;
      const r = Bun.spawn(["sh", "-c", `WATCHDOG_PID=$$ exec ${program} serve --port ${await freePort()} --pid-file ${pidFile}`], {
        env: { ...process.env, ...env, WATCHDOG_USEC: "200000" }, stdout: "ignore", stderr: "ignore",
      });
      track(r.pid);
      await waitFor(() => sd.messages.some((m) => m.includes("READY=1")), 10_000, "READY=1 from the first instance");
      const restarted = await runRodent(["restart", "--pid-file", pidFile], { env, runtime, timeoutMs: 45_000 });
      expect(restarted.code).toBe(0);
      const next = Number(readFileSync(pidFile, "utf8"));
      track(next);
      expect(next).not.toBe(r.pid);
      expect(await r.exited).toBe(0);
      // the successor, now the main PID, keeps the watchdog fed
      const pingsAtExit = sd.messages.filter((m) => m.includes("WATCHDOG=1")).length;
      await waitFor(() => sd.messages.filter((m) => m.includes("WATCHDOG=1")).length >= pingsAtExit + 2, 10_000, "watchdog pings from the successor");
      // the old one hands the service over; the new one's READY names itself
      await waitFor(() => sd.messages.some((m) => m.includes(`MAINPID=${next}`) && m.includes("READY=1")), 10_000, "READY=1 from the successor");
      expect(sd.messages.some((m) => m.includes(`MAINPID=${next}`) && !m.includes("READY=1"))).toBe(true);
      // the service did not stop: no STOPPING=1, and nothing after the hand-over names the old PID
      expect(sd.messages.some((m) => m.includes("STOPPING=1"))).toBe(false);
      const handedAt = sd.messages.findIndex((m) => m.includes(`MAINPID=${next}`));
      expect(sd.messages.slice(handedAt).some((m) => m.includes(`MAINPID=${r.pid}`))).toBe(false);
      process.kill(next, "SIGTERM");
      await waitFor(() => !existsSync(pidFile), 10_000, "the successor to stop");
      sd.stop();
    }, 60_000);
  }

  test("the Node bundle notifies through systemd-notify", async () => {
    needTool("python3", "systemd-notify");
    const dir = tempDir();
    const sd = await notifySocket(join(dir, "notify.sock"));
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", join(dir, "r.pid")], { env: { HOME: dir, NOTIFY_SOCKET: join(dir, "notify.sock") }, runtime: "node" });
    await waitFor(() => sd.messages.some((m) => m.includes("READY=1")), 10_000, "READY=1 from the Node bundle");
    expect(sd.messages.find((m) => m.includes("READY=1"))).toContain(`MAINPID=${r.pid}`);
    r.signal("SIGTERM");
    expect(await r.exited()).toBe(0);
    sd.stop();
  });
});

describe("socket activation", () => {
  beforeEach(() => needTool("systemd-socket-activate"));
  test("the Node bundle serves on the socket systemd passes (LISTEN_FDS)", async () => {
    const dir = tempDir();
    const port = await freePort();
    const proc = Bun.spawn(["systemd-socket-activate", "-l", `127.0.0.1:${port}`, "node", BUNDLE, "serve", "--port", "1", "--pid-file", join(dir, "r.pid")], { env: { ...process.env, HOME: dir }, stdout: "pipe", stderr: "pipe" });
    track(proc.pid);
    // systemd-socket-activate listens first and starts rodent on the first connection
    const res = await waitFor(() => fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined), 15_000, "an answer on the activated socket");
    expect(res!.status).toBe(200);
    await waitFor(() => existsSync(join(dir, "r.pid")));
    process.kill(Number(readFileSync(join(dir, "r.pid"), "utf8")), "SIGTERM");
    expect(await proc.exited).toBe(0);
  });

  test("the Bun binary refuses an activated socket with a clear line instead of listening elsewhere", async () => {
    const dir = tempDir();
    const port = await freePort();
    const proc = Bun.spawn(["systemd-socket-activate", "-l", `127.0.0.1:${port}`, BIN, "serve", "--pid-file", join(dir, "r.pid")], { env: { ...process.env, HOME: dir }, stdout: "pipe", stderr: "pipe" });
    track(proc.pid);
    // the first accepted connection starts rodent; it refuses the socket and exits, so no answer
    await waitFor(
      () => fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) }).then(() => true, (e: Error) => !String(e).includes("ConnectionRefused") && !String(e).includes("ECONNREFUSED")),
      10_000,
      "systemd-socket-activate listening",
    );
    const stderr = await new Response(proc.stderr).text();
    expect(await proc.exited).toBe(1);
    expect(stderr).toContain("cannot listen on the inherited socket (fd 3): the Bun binary cannot use socket activation");
    expect(existsSync(join(dir, "r.pid"))).toBe(false);
  });
});

describe("containers", () => {
  // a PID namespace needs root: skipped otherwise
  test.if(process.getuid?.() === 0)("as PID 1 of a PID namespace, SIGTERM still drains and exits 0", async () => {
    needTool("unshare");
    const dir = tempDir();
    const port = await freePort();
    const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", BIN, "serve", "--port", String(port), "--pid-file", join(dir, "r.pid")], { env: { ...process.env, HOME: dir }, stdout: "pipe", stderr: "pipe" });
    track(proc.pid);
    await waitFor(() => fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false), 15_000, "rodent as PID 1");
    // inside the namespace it is PID 1 (and writes 1 to its PID file); outside, unshare's child
    expect(readFileSync(join(dir, "r.pid"), "utf8")).toBe("1\n");
    const child = Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(" ")[0]);
    track(child);
    process.kill(child, "SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(existsSync(join(dir, "r.pid"))).toBe(false);
  });

  test("the Dockerfile's HEALTHCHECK timeout outlasts `rodent health` against a server that never answers", async () => {
    const timeoutSec = Number(/^HEALTHCHECK .*--timeout=(\d+)s/m.exec(readFileSync(join(ROOT, "contrib/docker/Dockerfile"), "utf8"))?.[1]);
    expect(timeoutSec).toBeGreaterThan(0);
    // accepts connections and never says a word: the slowest way for a health check to fail
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const started = Date.now();
      const r = await runRodent(["health", "--host", "127.0.0.1", "--port", String(silent.port)], { timeoutMs: 30_000 });
      const took = Date.now() - started;
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("no answer within 2 s");
      // with a second to spare for a loaded host: otherwise docker cuts the check before it says why
      expect(took + 1000).toBeLessThan(timeoutSec * 1000);
    } finally {
      silent.stop(true);
    }
  }, 30_000);
});

describe("Kubernetes probe semantics", () => {
  test("readiness is 503 from the moment SIGTERM arrives; liveness stays 200 until exit", async () => {
    const s: Running & { url: string } = await startServer([], { env: { RODENT_SERVER_SHUTDOWNDELAY: "1500ms" } });
    s.signal("SIGTERM");
    await s.waitForOutput(/"event":"shutdown-started"/);
    const probes: Array<[number, number]> = [];
    for (let i = 0; i < 10; i++) {
      const [ready, live] = await Promise.all([fetch(`${s.url}/ready`).then((r) => r.status), fetch(`${s.url}/health`).then((r) => r.status)]);
      probes.push([ready, live]);
      await Bun.sleep(50);
    }
    expect(probes).toEqual(Array(10).fill([503, 200]));
    expect(await s.exited()).toBe(0);
  });
});

describe("contrib/systemd/rodent.service", () => {
  beforeEach(() => needTool("systemd-analyze"));
  test("passes systemd-analyze verify", async () => {
    const dir = tempDir();
    const unit = readFileSync(join(ROOT, "contrib/systemd/rodent.service"), "utf8").replaceAll("/usr/local/bin/rodent", BIN);
    writeFileSync(join(dir, "rodent.service"), unit);
    const r = Bun.spawnSync(["systemd-analyze", "verify", "--man=no", join(dir, "rodent.service")], { stderr: "pipe", stdout: "pipe" });
    const complaints = r.stderr.toString().split("\n").filter((l) => l.includes("rodent.service"));
    expect(complaints).toEqual([]);
  });
});
