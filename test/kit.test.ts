// An application built on rodent's public API (test/fixtures/kitapp, compiled as "notes"), run as a
// user would: its routes behind the front door, the close order, workers, readiness, start failures.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, getJson, runRodent, spawnRodent, startServer, tempDir, waitFor } from "./helpers";
import { lines, notes, notesBinary } from "./kit-fixture";

beforeAll(() => void notesBinary(), 60_000);

describe("an application built on rodent", () => {
  test("its routes answer with X-Request-Id, are access-logged, and see the connection through getConnInfo", async () => {
    const s = await startServer([], notes());
    const res = await fetch(`${s.url}/notes`, { headers: { "x-request-id": "kit-req-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("kit-req-1");
    expect(await res.json()).toEqual({ greeting: "hello", notes: [] });
    expect((await fetch(`${s.url}/notes`)).headers.get("x-request-id")).toMatch(/^[\w.:@/+=-]{8,128}$/);
    expect(await getJson(`${s.url}/conn`)).toEqual({ address: "127.0.0.1" });
    await s.waitForOutput(/"requestId":"kit-req-1","method":"GET","path":"\/notes","status":200/);
    // rodent's own routes are still there, beside the app's
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect((await fetch(`${s.url}/nothing-here`)).status).toBe(404);
  });

  test("its routes are behind rodent's front door: request timeout, body limit, proxy trust, Connection: close while draining", async () => {
    const s = await startServer([], notes({ env: { NOTES_SERVER_REQUESTTIMEOUT: "1s", NOTES_SERVER_BODYLIMIT: "1000", NOTES_SERVER_SHUTDOWNDELAY: "2s" } }));
    const slow = await fetch(`${s.url}/slow?ms=3000`);
    expect(slow.status).toBe(503);
    expect(await slow.json()).toMatchObject({ error: "request timeout", status: 503 });
    expect((await fetch(`${s.url}/notes`, { method: "POST", body: "x".repeat(5000) })).status).toBe(413);
    expect((await fetch(`${s.url}/notes`, { method: "POST", body: "small" })).status).toBe(201);
    // loopback is a trusted proxy by default: its X-Forwarded-For names the client
    expect(await getJson(`${s.url}/client`, { headers: { "x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https" } })).toEqual({ ip: "198.51.100.7", scheme: "https" });
    s.signal("SIGTERM");
    await s.waitForOutput(/server.shutdownDelay/);
    const draining = await fetch(`${s.url}/notes`);
    expect(draining.status).toBe(200);
    expect(draining.headers.get("connection")).toBe("close");
    expect(draining.headers.get("x-request-id")).toBeTruthy();
    expect(await s.exited()).toBe(0);
  });

  test("a request in flight at SIGTERM completes; only then the worker is aborted and awaited, and the store closed", async () => {
    const dir = tempDir();
    const events = join(dir, "events.log");
    const s = await startServer([], notes({ env: { HOME: dir, NOTES_STORE_EVENTS: events } }));
    const pending = fetch(`${s.url}/slow?ms=800`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await waitFor(() => lines(events).includes("request started"), 5000, "the slow request started");
    s.signal("SIGTERM");
    expect(await pending).toMatchObject({ status: 200, body: { done: true } });
    expect(await s.exited()).toBe(0);
    expect(lines(events)).toEqual(["store opened", "request started", "request done", "flusher aborted", "flusher ended", "store closed (in time)"]);
    expect(existsSync(s.pidFile)).toBe(false);
  });

  test("a request's signal fires when its client goes away, and before the shutdown deadline so it can still answer", async () => {
    const dir = tempDir();
    const events = join(dir, "events.log");
    const s = await startServer(["--shutdown-timeout", "1s"], notes({ env: { HOME: dir, NOTES_STORE_EVENTS: events } }));
    const leaving = new AbortController();
    void fetch(`${s.url}/wait`, { signal: leaving.signal }).catch(() => {});
    await waitFor(() => lines(events).includes("wait started"), 5000, "the request started");
    leaving.abort();
    await waitFor(() => lines(events).includes("request signal fired"), 5000, "the signal of a request whose client left");
    const pending = fetch(`${s.url}/wait`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await waitFor(() => lines(events).filter((l) => l === "wait started").length === 2, 5000, "the second request started");
    const started = Date.now();
    s.signal("SIGTERM");
    expect(await pending).toEqual({ status: 200, body: { aborted: true } });
    // told just before the deadline, it answered in time: a graceful exit
    expect(await s.exited()).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  test("a worker that throws ends the process with exit 1, naming the worker and its error", async () => {
    const dir = tempDir();
    const events = join(dir, "events.log");
    const s = spawnRodent(["serve", "--port", String(await freePort()), "--pid-file", join(dir, "notes.pid")], notes({ env: { HOME: dir, NOTES_JOBS_FAILAFTERMS: "300", NOTES_STORE_EVENTS: events } }));
    expect(await s.exited()).toBe(1);
    expect(s.output()).toContain("worker ticker failed: ticker exploded");
    expect(s.output()).toMatch(/"plugin":"jobs","worker":"ticker"/);
    // the shutdown was graceful: the other plugin's resources were released
    expect(lines(events).at(-1)).toBe("store closed (in time)");
    expect(existsSync(join(dir, "notes.pid"))).toBe(false);
  });

  test("a worker that overruns the shutdown deadline is named and the exit is 4; a cleanup that throws is named, the rest still run, exit 1", async () => {
    const dir = tempDir();
    const events = join(dir, "events.log");
    const stubborn = await startServer(["--shutdown-timeout", "1s"], notes({ env: { HOME: dir, NOTES_JOBS_IGNOREABORT: "true", NOTES_STORE_EVENTS: events } }));
    stubborn.signal("SIGTERM");
    expect(await stubborn.exited()).toBe(4);
    expect(stubborn.output()).toMatch(/shutdown deadline of 1000 ms passed; abandoning: .*jobs workers\/worker ticker/);
    expect(existsSync(stubborn.pidFile)).toBe(false);

    const failing = await startServer([], notes({ env: { NOTES_STORE_FAILCLOSE: "true", NOTES_STORE_EVENTS: events } }));
    failing.signal("SIGTERM");
    expect(await failing.exited()).toBe(1);
    expect(failing.output()).toMatch(/"msg":"cleanup failed".*"scope":"store","cleanup":"index","error":"index corrupt"/);
    // registered before the failing one, the store still closed
    expect(lines(events).at(-1)).toBe("store closed (in time)");
  });

  test("a start that blocks holds /ready at 503 while the listener answers; ready once it returns", async () => {
    const dir = tempDir();
    const gate = join(dir, "gate");
    const port = await freePort();
    const s = spawnRodent(["serve", "--port", String(port), "--pid-file", join(dir, "notes.pid")], notes({ env: { HOME: dir, NOTES_JOBS_GATE: gate } }));
    const url = `http://127.0.0.1:${port}`;
    const first = (await waitFor(() => fetch(`${url}/ready`).catch(() => undefined), 10_000, "the listener answering"))!;
    expect(first.status).toBe(503);
    expect(await first.json()).toMatchObject({ state: "starting" });
    // a request for an app route waits for the start instead of failing
    const early = fetch(`${url}/notes`).then((r) => r.status);
    writeFileSync(gate, "");
    await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, 10_000, "ready after the gate opened");
    expect(await early).toBe(200);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });

  test("a failing ready() turns /ready to 503 naming the plugin and why, and back; so does markNotReady", async () => {
    const dir = tempDir();
    const down = join(dir, "down");
    const s = await startServer([], notes({ env: { HOME: dir, NOTES_STORE_DOWNFILE: down } }));
    writeFileSync(down, "");
    const res = await fetch(`${s.url}/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "not ready", state: "ready", failing: [{ plugin: "store", reason: "upstream down" }] });
    unlinkSync(down);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    await fetch(`${s.url}/admin/unready`, { method: "POST" });
    expect(await getJson(`${s.url}/ready`)).toMatchObject({ failing: [{ plugin: "store", reason: "maintenance" }] });
    await fetch(`${s.url}/admin/ready`, { method: "POST" });
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });

  test("a start that throws exits 1 with one line naming the plugin, and leaves no PID file", async () => {
    const dir = tempDir();
    const events = join(dir, "events.log");
    const pidFile = join(dir, "notes.pid");
    const r = await runRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], notes({ env: { HOME: dir, NOTES_JOBS_THROWATSTART: "true", NOTES_STORE_EVENTS: events } }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('notes: plugin "jobs" failed to start: database unreachable\n');
    expect(existsSync(pidFile)).toBe(false);
    expect(existsSync(`${pidFile}.status`)).toBe(false);
    // what the plugin before it acquired was released
    expect(lines(events)).toEqual(["store opened", "flusher aborted", "flusher ended", "store closed (in time)"]);
  });
});
