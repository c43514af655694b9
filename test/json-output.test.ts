// --json on every command that reports an outcome: exactly one JSON object on stdout, on success
// and on failure, with the exit code the command has without --json; stderr as without it. And
// `logs --json`: JSON lines from a JSON log, a text log refused.
import { describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectOneLine, freePort, runRodent, spawnRodent, startServer, tempDir, track, waitFor, type SpawnOptions } from "./helpers";

type Outcome = Record<string, unknown> & { command: string; ok: boolean; exitCode: number };

/** Runs `args --json`, checks stdout is one JSON object whose exitCode is the exit code, and returns it. */
async function json(args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<{ outcome: Outcome; code: number; stderr: string }> {
  const r = await runRodent([...args, "--json"], options);
  expect(r.stdout.endsWith("\n") && r.stdout.indexOf("\n") === r.stdout.length - 1 ? "one line" : r.stdout).toBe("one line");
  const outcome = JSON.parse(r.stdout) as Outcome;
  expect(outcome).toMatchObject({ command: args[0], ok: r.code === 0, exitCode: r.code });
  if (!outcome.ok) expect(typeof outcome.error).toBe("string");
  return { outcome, code: r.code, stderr: r.stderr };
}

/** The command with and without --json: the same exit code and the same stderr; the JSON outcome. */
async function both(args: string[], options: SpawnOptions = {}): Promise<Outcome & { stderr: string }> {
  const text = await runRodent(args, options);
  const { outcome, code, stderr } = await json(args, options);
  expect(`${args[0]} --json exit ${code}`).toBe(`${args[0]} --json exit ${text.code}`);
  expect(stderr).toBe(text.stderr);
  return { ...outcome, stderr };
}

for (const runtime of ["bun", "node"] as const) {
  test(`with an instance running (${runtime}), health, reload, reopen, restart and stop --json each print what happened and exit 0`, async () => {
    const dir = tempDir();
    const config = join(dir, "rodent.yml");
    writeFileSync(config, "logs:\n  access: true\n");
    const s = await startServer(["-c", config, "--log-file", join(dir, "rodent.log")], { runtime, env: { HOME: dir } });
    const options = { runtime, env: { HOME: dir }, timeoutMs: 45_000 };
    const target = ["--pid-file", s.pidFile];

    const health = await both(["health", "-p", String(s.port)], options);
    expect(health).toMatchObject({ ok: true, healthy: true, url: `http://127.0.0.1:${s.port}/health`, status: 200, body: { status: "healthy", pid: s.pid } });

    writeFileSync(config, "logs:\n  access: false\n");
    const reload = await json(["reload", ...target], options);
    expect(reload.outcome).toMatchObject({ ok: true, exitCode: 0, pid: s.pid, applied: true, generation: 2, changed: ["logs.access"], restartNeeded: [] });

    expect((await json(["reopen", ...target], options)).outcome).toMatchObject({ ok: true, pid: s.pid, signal: "SIGUSR1" });

    const restart = await json(["restart", ...target], options);
    expect(restart.code).toBe(0);
    const next = restart.outcome.pid as number;
    track(next);
    expect(restart.outcome).toMatchObject({ ok: true, previousPid: s.pid, address: `127.0.0.1:${s.port}` });
    expect(next).not.toBe(s.pid);
    expect(Number(readFileSync(s.pidFile, "utf8"))).toBe(next);

    const stop = await json(["stop", ...target], options);
    expect(stop.outcome).toMatchObject({ ok: true, exitCode: 0, pid: next, stopped: true, killed: false, pidFile: s.pidFile });
    expect(stop.stderr).toBe("");
  }, 90_000);
}

describe("failures are one JSON object too, with the exit code of the command without --json", () => {
  test("a rejected reload: ok false, the errors, exit 1", async () => {
    const dir = tempDir();
    const config = join(dir, "rodent.yml");
    writeFileSync(config, "logs:\n  access: true\n");
    const s = await startServer(["-c", config], { env: { HOME: dir } });
    writeFileSync(config, "logs:\n  access: maybe\n");
    const reload = await both(["reload", "--pid-file", s.pidFile], { env: { HOME: dir } });
    expect(reload).toMatchObject({ ok: false, exitCode: 1, error: "reload rejected; the running config stays", pid: s.pid, applied: false });
    expect(String((reload.errors as string[])[0])).toContain("logs.access");
    expect(reload.stderr).toStartWith("reload rejected; the running config stays:\n");
  });

  test("nothing running: stop 0, status 3, reload, reopen, restart and health 1", async () => {
    const dir = tempDir();
    const target = ["--pid-file", join(dir, "none.pid")];
    expect(await both(["stop", ...target])).toMatchObject({ ok: true, exitCode: 0, running: false });
    expect(await both(["status", ...target])).toMatchObject({ ok: false, exitCode: 3, running: false, error: expect.stringContaining("not running") });
    for (const command of ["reload", "reopen", "restart"]) {
      const r = await both([command, ...target]);
      expect(r).toMatchObject({ ok: false, exitCode: 1, error: `rodent is not running (PID file ${join(dir, "none.pid")}); start it with 'rodent serve'` });
      expectOneLine(r.stderr);
    }
    const port = String(await freePort());
    const health = await both(["health", "-p", port]);
    expect(health).toMatchObject({ ok: false, exitCode: 1, healthy: false, error: `unhealthy: http://127.0.0.1:${port}/health: connection refused: is rodent running?` });
    expectOneLine(health.stderr);
  }, 30_000);

  test("a PID file that is not rodent's: every control command exits 1 with one line, in JSON too", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "odd.pid");
    writeFileSync(pidFile, "not a pid\n");
    for (const command of ["stop", "status", "reload", "reopen", "restart"]) {
      const r = await both([command, "--pid-file", pidFile]);
      expect(r).toMatchObject({ ok: false, exitCode: 1, error: expect.stringContaining(pidFile) });
      expectOneLine(r.stderr);
    }
    expect(readFileSync(pidFile, "utf8")).toBe("not a pid\n");
  });

  test("a usage error with --json is JSON as well, exit 2", async () => {
    const r = await both(["stop", "--timeout", "soon"]);
    expect(r).toMatchObject({ ok: false, exitCode: 2, error: 'stop: --timeout "soon": expected a duration like 30s' });
    expect((await both(["health", "--port", "http"])).exitCode).toBe(2);
  });
});

/**
 * A TCP port where something that is not rodent answers (another user's process can hold the port
 * health asks): `answer` gets each connection once its request arrived.
 */
function impostor(answer: (socket: { write(data: string): void; end(): void }) => void): { port: number; stop(): void } {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (socket) => answer(socket) } });
  return { port: server.port, stop: () => server.stop(true) };
}

describe.each(["bun", "node"] as const)("health --json against a port that is not rodent (%s)", (runtime) => {
  test("an endless answer trickling in is given up on: 3 tries of 2 s, one JSON object, exit 1", async () => {
    const timers: Array<ReturnType<typeof setInterval>> = [];
    const port = impostor((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
      timers.push(setInterval(() => socket.write("x"), 200));
    });
    try {
      const started = Date.now();
      const { outcome, code, stderr } = await json(["health", "--port", String(port.port)], { runtime, timeoutMs: 15_000 });
      expect(code).toBe(1);
      expect(outcome).toMatchObject({ healthy: false, attempts: 3, error: `unhealthy: http://127.0.0.1:${port.port}/health: no answer within 2 s` });
      expectOneLine(stderr);
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      for (const timer of timers) clearInterval(timer);
      port.stop();
    }
  });

  test("what it answers reaches the terminal escaped, on one line", async () => {
    const body = '{"status":"\x1b]0;pwned\x07\x1b[31mred","line":"a\nb"}';
    const port = impostor((socket) => {
      socket.write(`HTTP/1.1 503 Service Unavailable\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      socket.end();
    });
    try {
      const { outcome, stderr } = await json(["health", "--port", String(port.port)], { runtime });
      expectOneLine(stderr);
      expect(stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
      expect(stderr).toContain("pwned");
      expect(stderr).toContain('"line":"a');
      expect(stderr).toContain('b"}');
      expect(outcome.error).toBe(stderr.trimEnd());
    } finally {
      port.stop();
    }
  });
});

describe("logs --json", () => {
  test("prints a JSON log's lines as they are, a stray text line wrapped, each line one object", async () => {
    const dir = tempDir();
    const logFile = join(dir, "rodent.log");
    const s = await startServer(["--log-file", logFile], { env: { HOME: dir } });
    await fetch(`${s.url}/api/v1/rodent/version`, { headers: { "x-request-id": "logs-json-1" } });
    await waitFor(() => readFileSync(logFile, "utf8").includes("logs-json-1"), 10_000, "the access line");
    appendFileSync(logFile, "panic: something the runtime wrote\n");
    const file = readFileSync(logFile, "utf8").trim().split("\n");
    const r = await runRodent(["logs", "--log-file", logFile, "--json", "-n", "1000"], { env: { HOME: dir } });
    expect(r.code).toBe(0);
    const printed = r.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(printed.slice(0, -1)).toEqual(file.slice(0, -1).map((line) => JSON.parse(line)));
    expect(printed.at(-1)).toEqual({ unparsed: "panic: something the runtime wrote" });
    expect(printed.some((l) => l.requestId === "logs-json-1")).toBe(true);
  });

  test("refuses a text log with one line and exit 1 (a JSON object on stdout); without --json it prints it", async () => {
    const dir = tempDir();
    const logFile = join(dir, "rodent.log");
    await startServer(["--log-file", logFile, "--log-format", "pretty"], { env: { HOME: dir } });
    const r = await runRodent(["logs", "--log-file", logFile, "--json"], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ command: "logs", ok: false, exitCode: 1, error: `log file ${logFile} is text (logs.format: pretty), not JSON lines: run 'rodent logs' without --json, or set logs.format: json` });
    expectOneLine(r.stderr);
    const text = await runRodent(["logs", "--log-file", logFile], { env: { HOME: dir } });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("INFO  [rodent]");
  });

  test("-f --json follows a JSON log line by line", async () => {
    const dir = tempDir();
    const logFile = join(dir, "rodent.log");
    const s = await startServer(["--log-file", logFile], { env: { HOME: dir } });
    // the last line when it starts, so its output shows when it follows the end of the file
    appendFileSync(logFile, '{"tag":"started"}\n');
    const follow = spawnRodent(["logs", "-f", "--json", "-n", "1", "--log-file", logFile], { env: { HOME: dir } });
    await follow.waitForOutput(/"tag":"started"/, 10_000);
    for (let i = 0; i < 3; i++) await fetch(`${s.url}/api/v1/rodent/version`, { headers: { "x-request-id": `follow-${i}` } });
    await follow.waitForOutput(/"requestId":"follow-2"/, 10_000);
    // a line read in two pieces comes out whole once its end is there: the marker shows the first
    // piece was read (one write), before the rest is written
    appendFileSync(logFile, '{"tag":"marker"}\n{"tag":"split",');
    await follow.waitForOutput(/"tag":"marker"/, 10_000);
    appendFileSync(logFile, '"msg":"joined"}\nnot json\n');
    await follow.waitForOutput(/"unparsed":"not json"/, 10_000);
    follow.signal("SIGINT");
    expect(await follow.exited()).toBe(0);
    const printed = follow.output().trim().split("\n").map((line) => JSON.parse(line));
    expect(printed.filter((l) => l.tag === "access").map((l) => l.requestId)).toEqual(["follow-0", "follow-1", "follow-2"]);
    expect(printed).toContainEqual({ tag: "split", msg: "joined" });
  });
});
