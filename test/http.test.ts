import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { freePort, getJson, spawnRodent, startServer, tempDir, waitFor } from "./helpers";

/** A raw keep-alive HTTP/1.1 connection that can send several requests and see when it is closed. */
async function rawConnection(port: number): Promise<{ socket: Socket; closed: Promise<void>; get(path: string, headers?: string): Promise<string> }> {
  const socket = connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  let buffer = "";
  let waiter: (() => void) | undefined;
  socket.on("data", (chunk) => {
    buffer += chunk.toString();
    waiter?.();
  });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  return {
    socket,
    closed,
    get(path, headers = "") {
      buffer = "";
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`);
      return new Promise((done) => {
        waiter = () => {
          const end = buffer.indexOf("\r\n\r\n");
          if (end < 0) return;
          const length = Number(/content-length: (\d+)/i.exec(buffer)?.[1] ?? 0);
          if (buffer.length >= end + 4 + length) done(buffer);
        };
        waiter();
      });
    },
  };
}

describe("HTTP endpoints", () => {
  test("/health, /ready and /api/v1/rodent/version have stable shapes", async () => {
    const s = await startServer();
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("content-type")).toBe("application/json");
    expect(await health.json()).toMatchObject({ status: "healthy", state: "ready", pid: s.pid, version: expect.any(String), config: expect.stringMatching(/^[0-9a-f]{8}$/), generation: 1 });
    const ready = await fetch(`${s.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", state: "ready" });
    const version = await getJson(`${s.url}/api/v1/rodent/version`);
    expect(version).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), commit: expect.any(String), buildTime: expect.any(String), runtime: expect.stringMatching(/^bun \d/) });
  });

  test("unknown paths are JSON 404s with the request id", async () => {
    const s = await startServer();
    const res = await fetch(`${s.url}/no/such/thing`, { headers: { "x-request-id": "abc-123" } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not found", status: 404, path: "/no/such/thing", requestId: "abc-123" });
  });

  test("the health path follows health.endpoint", async () => {
    const s = await startServer([], { env: { RODENT_HEALTH_ENDPOINT: "/healthz" } });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/health`)).status).toBe(404);
  });

  test("a sane X-Request-Id is echoed; a missing or insane one is replaced by a UUID", async () => {
    const s = await startServer();
    const given = await fetch(`${s.url}/health`, { headers: { "x-request-id": "req-42.a:b" } });
    expect(given.headers.get("x-request-id")).toBe("req-42.a:b");
    const none = await fetch(`${s.url}/health`);
    expect(none.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const insane = await fetch(`${s.url}/health`, { headers: { "x-request-id": "x".repeat(300) } });
    expect(insane.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("a body over server.bodyLimit is refused with 413 and the server keeps serving", async () => {
    const s = await startServer([], { env: { RODENT_SERVER_BODYLIMIT: "1024" } });
    const res = await fetch(`${s.url}/api/v1/rodent/version`, { method: "POST", body: "x".repeat(10_000) });
    expect(res.status).toBe(413);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });
});

describe("proxy trust", () => {
  test("X-Forwarded-For and -Proto count from a trusted peer (loopback by default)", async () => {
    const s = await startServer(["--dev"]);
    const seen = await getJson(`${s.url}/debug/request`, { headers: { "x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https" } });
    expect(seen).toMatchObject({ ip: "198.51.100.7", scheme: "https" });
  });

  test("with trustProxy empty the peer address is the client and forwarded headers are ignored", async () => {
    const s = await startServer(["--dev"], { env: { RODENT_SERVER_TRUSTPROXY: "" } });
    const seen = await getJson(`${s.url}/debug/request`, { headers: { "x-forwarded-for": "198.51.100.7", "x-forwarded-proto": "https" } });
    expect(seen).toMatchObject({ ip: "127.0.0.1", scheme: "http" });
  });
});

describe("graceful drain", () => {
  test("readiness turns 503 first; during server.shutdownDelay the listener still answers, with Connection: close", async () => {
    const s = await startServer([], { env: { RODENT_SERVER_SHUTDOWNDELAY: "2s" } });
    s.signal("SIGTERM");
    await s.waitForOutput(/server.shutdownDelay/);
    const ready = await fetch(`${s.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "not ready", state: "draining" });
    expect(ready.headers.get("connection")).toBe("close");
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "healthy", state: "draining" });
    expect(await s.exited()).toBe(0);
  });

  test("idle keep-alive connections are closed when the drain starts and the process exits promptly", async () => {
    const s = await startServer();
    const conns = await Promise.all(Array.from({ length: 5 }, () => rawConnection(s.port)));
    for (const c of conns) expect(await c.get("/health")).toStartWith("HTTP/1.1 200");
    const started = Date.now();
    s.signal("SIGTERM");
    await Promise.all(conns.map((c) => c.closed));
    expect(await s.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test("a keep-alive connection with a request in flight gets its response, then is closed", async () => {
    const s = await startServer(["--dev"]);
    const c = await rawConnection(s.port);
    const pending = c.get("/debug/sleep?ms=1000");
    await waitFor(async () => (await getJson(`${s.url}/debug/lifecycle`)).inFlight >= 2);
    s.signal("SIGTERM");
    const response = await pending;
    expect(response).toStartWith("HTTP/1.1 200");
    expect(response.toLowerCase()).toContain("connection: close");
    await c.closed;
    expect(await s.exited()).toBe(0);
  });
});

describe("timeouts", () => {
  test("an idle keep-alive connection is closed after server.idleTimeout", async () => {
    const s = await startServer([], { env: { RODENT_SERVER_IDLETIMEOUT: "1s" } });
    const c = await rawConnection(s.port);
    expect(await c.get("/health")).toStartWith("HTTP/1.1 200");
    const started = Date.now();
    await c.closed;
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("listening", () => {
  test("a unix socket: served, stale file from a killed instance replaced, removed on exit", async () => {
    const dir = tempDir();
    const socket = join(dir, "rodent.sock");
    const first = spawnRodent(["serve", "--socket", socket, "--pid-file", join(dir, "a.pid")], { env: { HOME: dir } });
    await waitFor(() => existsSync(socket));
    await first.waitForOutput(/"ready"/);
    first.signal("SIGKILL");
    await first.exited();
    expect(existsSync(socket)).toBe(true);
    const second = spawnRodent(["serve", "--socket", socket, "--pid-file", join(dir, "b.pid")], { env: { HOME: dir } });
    await second.waitForOutput(/"ready"/);
    expect(lstatSync(socket).mode & 0o777).toBe(0o660);
    const res = await fetch("http://localhost/health", { unix: socket });
    expect(res.status).toBe(200);
    const busy = spawnRodent(["serve", "--socket", socket, "--pid-file", join(dir, "c.pid")], { env: { HOME: dir } });
    expect(await busy.exited()).toBe(1);
    expect(busy.output()).toContain(`cannot listen on unix socket ${socket}: another process listens on it`);
    second.signal("SIGTERM");
    expect(await second.exited()).toBe(0);
    expect(existsSync(socket)).toBe(false);
  });

  test("an address that is not on this machine: exit 1 naming it and the fix", async () => {
    const dir = tempDir();
    const r = spawnRodent(["serve", "--host", "192.0.2.1", "--port", String(await freePort()), "--pid-file", join(dir, "r.pid")], { env: { HOME: dir } });
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain("address 192.0.2.1 is not available on this machine");
    expect(existsSync(join(dir, "r.pid"))).toBe(false);
  });

  test("a privileged port as an ordinary user: exit 1 naming the port and the fix", async () => {
    const dir = tempDir();
    const r = spawnRodent(["serve", "--port", "81", "--pid-file", join(dir, "r.pid")], { env: { HOME: dir }, unprivileged: true });
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain("cannot listen on 127.0.0.1:81: ports below 1024 need root or CAP_NET_BIND_SERVICE");
    expect(existsSync(join(dir, "r.pid"))).toBe(false);
  });
});

describe("the Node bundle", () => {
  test("serves the same endpoints and drains an in-flight request on SIGTERM", async () => {
    const s = await startServer(["--dev"], { runtime: "node" });
    expect(await getJson(`${s.url}/api/v1/rodent/version`)).toMatchObject({ runtime: expect.stringMatching(/^node /) });
    const pending = fetch(`${s.url}/debug/sleep?ms=1000`).then((r) => r.status);
    await waitFor(async () => (await getJson(`${s.url}/debug/lifecycle`)).inFlight >= 2);
    const idle = await rawConnection(s.port);
    expect(await idle.get("/health")).toStartWith("HTTP/1.1 200");
    s.signal("SIGTERM");
    expect(await pending).toBe(200);
    await idle.closed;
    expect(await s.exited()).toBe(0);
    expect(existsSync(s.pidFile)).toBe(false);
  });
});
