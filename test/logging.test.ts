import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { freePort, getJson, spawnRodent, startServer, tempDir, waitFor } from "./helpers";

type Line = Record<string, unknown> & { time: string; level: string; tag: string; msg: string };
const parse = (text: string): Line[] => text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);

/** A server logging to a file in a fresh directory; `config` (YAML) is written to its rodent.yml and passed with -c. */
async function withLogFile(extra: string[] = [], env: Record<string, string> = {}, config?: string) {
  const dir = tempDir();
  const logFile = join(dir, "rodent.log");
  const configFile = join(dir, "rodent.yml");
  if (config !== undefined) await Bun.write(configFile, config);
  const s = await startServer(["--log-file", logFile, ...(config === undefined ? [] : ["-c", configFile]), ...extra], { env: { HOME: dir, ...env } });
  const lines = () => parse(readFileSync(logFile, "utf8"));
  return { s, logFile, configFile, lines, dir };
}

describe("JSON logs", () => {
  test("every line parses and carries time, level, tag and message", async () => {
    const { s, lines } = await withLogFile();
    await fetch(`${s.url}/api/v1/rodent/version`);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    const all = lines();
    expect(all.length).toBeGreaterThan(4);
    for (const line of all) {
      expect(new Date(line.time).toISOString()).toBe(line.time);
      expect(["info", "warn", "error", "debug"]).toContain(line.level);
      expect(typeof line.tag).toBe("string");
    }
  });

  test("lifecycle events come in order for start, a request and SIGTERM, with their fields", async () => {
    const { s, lines } = await withLogFile();
    await fetch(`${s.url}/api/v1/rodent/version`);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    const events = lines().map((l) => l.event ?? l.tag);
    expect(events).toEqual(["start", "listening", "ready", "access", "signal", "shutdown-started", "drain-started", "drained", "stopped"]);
    const byEvent = Object.fromEntries(lines().map((l) => [l.event ?? l.tag, l]));
    expect(byEvent.start).toMatchObject({ version: expect.any(String), pid: s.pid, runtime: expect.stringMatching(/^bun /), config: "built-in defaults" });
    expect(byEvent.listening).toMatchObject({ address: `127.0.0.1:${s.port}` });
    expect(byEvent.ready!.sinceExecMs).toBeGreaterThan(0);
    expect(byEvent.signal).toMatchObject({ signal: "SIGTERM" });
    expect(byEvent["drain-started"]).toMatchObject({ inFlight: 0 });
    expect(byEvent.stopped).toMatchObject({ exitCode: 0, durationMs: expect.any(Number) });
  });

  test("the access line has the request id, method, path, status, duration, bytes, client IP and user agent", async () => {
    const { s, lines } = await withLogFile();
    await fetch(`${s.url}/api/v1/rodent/version`, { headers: { "x-request-id": "trace-me-1", "user-agent": "tester/1.0" } });
    await waitFor(() => lines().some((l) => l.tag === "access"));
    const access = lines().find((l) => l.tag === "access")!;
    expect(access).toMatchObject({ level: "info", requestId: "trace-me-1", method: "GET", path: "/api/v1/rodent/version", status: 200, ip: "127.0.0.1", userAgent: "tester/1.0" });
    expect(access.durationMs).toBeGreaterThanOrEqual(0);
    expect(access.bytes).toBeGreaterThan(10);
  });

  test("a hostile request id, forwarded chain and user agent cannot break the access line's JSON", async () => {
    const { s, lines } = await withLogFile();
    const headers = { "x-request-id": 'a"b\\c', "x-forwarded-for": '1.2.3.4", "injected":"1', "x-forwarded-proto": 'https", "x":"', "user-agent": 'ua "quoted" \\ back' };
    const answer = await fetch(`${s.url}/api/v1/rodent/version`, { headers });
    await waitFor(() => lines().some((l) => l.tag === "access"));
    const access = lines().find((l) => l.tag === "access")!;
    // the id was replaced (and echoed), the forwarded hop is not an address (the peer stands), the UA kept exactly
    expect(access.requestId).toBe(answer.headers.get("x-request-id")!);
    expect(access).toMatchObject({ requestId: expect.stringMatching(/^[0-9a-f]{16}-\d+$/), ip: "127.0.0.1", scheme: "http", userAgent: headers["user-agent"] });
    expect(access).not.toHaveProperty("injected");
    expect(access).not.toHaveProperty("x");
  });

  test("probes are not logged, secrets in the query are redacted, headers never logged", async () => {
    const { s, lines } = await withLogFile();
    await fetch(`${s.url}/health`);
    await fetch(`${s.url}/ready`);
    await fetch(`${s.url}/x?api_token=hunter2&page=2&password=swordfish`, { headers: { authorization: "Bearer sekrit", cookie: "sid=abc" } });
    await waitFor(() => lines().some((l) => l.tag === "access"));
    const access = lines().filter((l) => l.tag === "access");
    expect(access).toHaveLength(1);
    expect(access[0]!.path).toBe("/x?api_token=REDACTED&page=2&password=REDACTED");
    const text = readFileSync(join(s.dir, "rodent.log"), "utf8");
    for (const secret of ["hunter2", "swordfish", "sekrit", "sid=abc"]) expect(text).not.toContain(secret);
  });

  test("logs.access: false turns the access log off", async () => {
    const { s, lines } = await withLogFile([], { RODENT_LOGS_ACCESS: "false" });
    await fetch(`${s.url}/api/v1/rodent/version`);
    s.signal("SIGTERM");
    await s.exited();
    expect(lines().filter((l) => l.tag === "access")).toHaveLength(0);
  });

  test("the log level changes live on reload", async () => {
    const { s, logFile, configFile: file } = await withLogFile([], {}, "server:\n  logLevel: warn\n");
    await fetch(`${s.url}/api/v1/rodent/version?before`);
    await Bun.write(file, "server:\n  logLevel: info\n");
    s.signal("SIGHUP");
    await waitFor(async () => (await getJson(`${s.url}/health`)).generation === 2);
    await fetch(`${s.url}/api/v1/rodent/version?after`);
    s.signal("SIGTERM");
    await s.exited();
    const access = parse(readFileSync(logFile, "utf8")).filter((l) => l.tag === "access").map((l) => l.path);
    expect(access).toEqual(["/api/v1/rodent/version?after"]);
  });

  test("a reload's log level reaches the lifecycle lines too, not only the access log", async () => {
    const { s, logFile, configFile: file } = await withLogFile([], {}, "server:\n  logLevel: info\n");
    await Bun.write(file, "server:\n  logLevel: error\n");
    s.signal("SIGHUP");
    await waitFor(async () => (await getJson(`${s.url}/health`)).generation === 2);
    s.signal("SIGTERM");
    await s.exited();
    const lines = parse(readFileSync(logFile, "utf8"));
    // up to the reload at info; from the new level on, nothing below error (the shutdown lines are info)
    expect(lines.some((l) => l.event === "ready")).toBe(true);
    const after = lines.slice(lines.findIndex((l) => l.event === "signal" && l.signal === "SIGHUP") + 1);
    expect(after.filter((l) => l.level === "info" && l.tag !== "access").map((l) => l.msg)).toEqual([]);
    expect(lines.some((l) => l.event === "shutdown-started")).toBe(false);
  });

  test("--log-format pretty writes readable lines", async () => {
    const dir = tempDir();
    const s = await startServer(["--log-format", "pretty"], { env: { HOME: dir } });
    await fetch(`${s.url}/api/v1/rodent/version`, { headers: { "x-request-id": "pretty-1" } });
    await s.waitForOutput(/access GET \/api\/v1\/rodent\/version 200 .* id=pretty-1/);
    expect(s.output()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  \[rodent\] rodent \S+ starting/m);
  });
});

describe("log files", () => {
  test("mv then SIGUSR1: the next lines go to a new file at the path, nothing is lost from the old", async () => {
    const { s, logFile } = await withLogFile();
    for (let i = 0; i < 20; i++) await fetch(`${s.url}/api/v1/rodent/version?n=${i}`);
    renameSync(logFile, `${logFile}.1`);
    // lines written after the move but before the reopen still reach the old file
    for (let i = 20; i < 40; i++) await fetch(`${s.url}/api/v1/rodent/version?n=${i}`);
    s.signal("SIGUSR1");
    await waitFor(() => {
      try {
        return readFileSync(logFile, "utf8").includes("log file reopened");
      } catch {
        return false;
      }
    });
    for (let i = 40; i < 60; i++) await fetch(`${s.url}/api/v1/rodent/version?n=${i}`);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    const numbers = (path: string) => parse(readFileSync(path, "utf8")).filter((l) => l.tag === "access").map((l) => Number(String(l.path).split("n=")[1]));
    const old = numbers(`${logFile}.1`);
    const fresh = numbers(logFile);
    expect(old).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(fresh).toEqual(Array.from({ length: 20 }, (_, i) => i + 40));
  });

  test("a log path in a directory that cannot be written fails start-up with a clear line", async () => {
    const dir = tempDir();
    const locked = join(dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const r = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", join(dir, "r.pid"), "--log-file", join(locked, "rodent.log")], { env: { HOME: dir }, unprivileged: true });
    expect(await r.exited()).toBe(1);
    expect(r.output()).toBe(`rodent: cannot open log file ${join(locked, "rodent.log")} (EACCES): make it writable by this user or choose another --log-file\n`);
  });

  test("a log that cannot be written (disk full) is reported once and the daemon keeps serving", async () => {
    const dir = tempDir();
    const s = await startServer(["--log-file", "/dev/full"], { env: { HOME: dir } });
    for (let i = 0; i < 50; i++) expect((await fetch(`${s.url}/api/v1/rodent/version`)).status).toBe(200);
    await s.waitForOutput(/cannot write the log \/dev\/full \(ENOSPC\)/);
    expect(s.output().match(/cannot write the log/g)).toHaveLength(1);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });
});
