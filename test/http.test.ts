import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { freePort, getJson, inBothRuntimes, runRodent, spawnRodent, startServer, tempDir, waitFor } from "./helpers";

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

  test("rodent's own answers carry a Content-Length of their bytes on both runtimes, HEAD included (proxies keep the connection)", async () => {
    await inBothRuntimes(async (runtime) => {
      const s = await startServer([], { runtime });
      for (const path of ["/api/v1/rodent/version", "/health", "/ready", "/nope"]) {
        const res = await fetch(`${s.url}${path}`);
        const body = new Uint8Array(await res.arrayBuffer());
        expect(res.headers.get("content-length")).toBe(String(body.length));
        expect(res.headers.get("transfer-encoding")).toBeNull();
      }
      const head = await fetch(`${s.url}/health`, { method: "HEAD" });
      expect(Number(head.headers.get("content-length"))).toBeGreaterThan(0);
    });
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

  test("health.endpoint on / or one of rodent's own routes is refused with one line naming the key", async () => {
    // on /, haproxy's default check (OPTIONS /) got the liveness answer: 200 while draining
    for (const path of ["/", "/ready", "/api/v1/rodent/version", "/debug/x"]) {
      const check = await runRodent(["config", "check"], { env: { RODENT_HEALTH_ENDPOINT: path } });
      expect(`${path}: exit ${check.code}`).toBe(`${path}: exit 1`);
      expect(check.stderr).toContain("health.endpoint");
      expect(check.stderr).toContain("expected a path other than");
    }
    const run = await runRodent(["serve", "--port", "0"], { env: { RODENT_HEALTH_ENDPOINT: "/" } });
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("RODENT_HEALTH_ENDPOINT");
  });

  for (const runtime of ["bun", "node"] as const) {
    test(`${runtime}: a sane X-Request-Id is echoed; a missing or insane one is replaced by the process's prefix and a counter`, async () => {
      const s = await startServer([], { runtime });
      const given = await fetch(`${s.url}/health`, { headers: { "x-request-id": "req-42.a:b" } });
      expect(given.headers.get("x-request-id")).toBe("req-42.a:b");
      const none = (await fetch(`${s.url}/health`)).headers.get("x-request-id");
      const insane = (await fetch(`${s.url}/health`, { headers: { "x-request-id": "x".repeat(300) } })).headers.get("x-request-id");
      const controls = (await fetch(`${s.url}/health`, { headers: { "x-request-id": "a b\"c" } })).headers.get("x-request-id");
      const [first, second, third] = [none, insane, controls].map((id) => /^([0-9a-f]{16})-(\d+)$/.exec(id ?? ""));
      expect([first?.[0], second?.[0], third?.[0]]).toEqual([none!, insane!, controls!]);
      expect(new Set([first![1], second![1], third![1]]).size).toBe(1);
      expect(Number(third![2])).toBeGreaterThan(Number(second![2]));
      expect(Number(second![2])).toBeGreaterThan(Number(first![2]));
    });
  }

  test("request ids stay unique across two instances and a restart: each process draws its own prefix", async () => {
    const ids = async (url: string) => Promise.all([1, 2, 3].map(async () => (await fetch(`${url}/api/v1/rodent/version`)).headers.get("x-request-id")!));
    const a = await startServer();
    const b = await startServer();
    const fromA = await ids(a.url);
    const fromB = await ids(b.url);
    a.signal("SIGTERM");
    expect(await a.exited()).toBe(0);
    const again = await startServer([], { env: { HOME: a.dir } });
    const fromAgain = await ids(again.url);
    const all = [...fromA, ...fromB, ...fromAgain];
    for (const id of all) expect(id).toMatch(/^[0-9a-f]{16}-\d+$/);
    expect(new Set(all).size).toBe(9);
    expect(new Set(all.map((id) => id.split("-")[0])).size).toBe(3);
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

/** Sends `request` (text or bytes) on a fresh connection and returns everything until the server closes it. */
async function exchange(port: number, request: string | Buffer, localAddress?: string): Promise<string> {
  const socket = connect({ port, host: "127.0.0.1", localAddress });
  await new Promise((r) => socket.once("connect", r));
  let text = "";
  socket.on("data", (chunk) => (text += chunk.toString("latin1")));
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  socket.on("error", () => {});
  socket.write(request);
  await Promise.race([closed, Bun.sleep(10_000)]);
  socket.destroy();
  return text;
}

/** The JSON access lines in `output`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function accessLines(output: string): any[] {
  return output.split("\n").filter((l) => l.includes('"tag":"access"')).map((l) => JSON.parse(l));
}

const RUNTIMES = ["bun", "node"] as const;

describe("hardening (issue 16)", () => {
  // Two waits of 6 s: the runtimes run at the same time. A failure names its runtime.
  test("bun and node: a handler past server.requestTimeout is answered 503 with the request id, also when it exceeds server.idleTimeout", async () => {
    await inBothRuntimes(async (runtime) => {
      // Bun's idleTimeout would cut a connection still waiting for its answer (it checks every few seconds)
      const s = await startServer(["--dev"], { runtime, env: { RODENT_SERVER_REQUESTTIMEOUT: "6s", RODENT_SERVER_IDLETIMEOUT: "1s" } });
      const started = Date.now();
      const res = await fetch(`${s.url}/debug/sleep?ms=20000`, { headers: { "x-request-id": "slow-1" } });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: "request timeout", status: 503, requestId: "slow-1" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(5900);
      expect(Date.now() - started).toBeLessThan(10_000);
      // the access line reports the 503 that went out, not what the handler built after it
      await s.waitForOutput(/"requestId":"slow-1"/);
      const line = accessLines(s.output()).find((l) => l.requestId === "slow-1");
      expect(line).toMatchObject({ status: 503, bytes: JSON.stringify({ error: "request timeout", status: 503, requestId: "slow-1" }).length });
      // the handler stopped with its signal: nothing is left to drain
      const stopping = Date.now();
      s.signal("SIGTERM");
      expect(await s.exited()).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(3000);
    });
  });

  for (const runtime of RUNTIMES) {
    test(`${runtime}: a client that resets right after its request cannot forge its address or scheme`, async () => {
      const s = await startServer([], { runtime, env: { RODENT_SERVER_TRUSTPROXY: "127.0.0.1/32", RODENT_LOGS_FORMAT: "json" } });
      for (let i = 0; i < 40; i++) {
        const socket = connect({ port: s.port, host: "127.0.0.1", localAddress: "127.0.0.2" });
        await new Promise((r) => socket.once("connect", r));
        socket.on("error", () => {});
        socket.write(`GET /api/v1/rodent/version?n=${i} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.77\r\nX-Forwarded-Proto: https\r\n\r\n`);
        socket.resetAndDestroy();
      }
      // a well-behaved request last, from the same untrusted address, so we know the log has caught up
      expect(await exchange(s.port, "GET /api/v1/rodent/version?n=last HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.77\r\nConnection: close\r\n\r\n", "127.0.0.2")).toStartWith("HTTP/1.1 200");
      await s.waitForOutput(/"path":"\/api\/v1\/rodent\/version\?n=last"/);
      const lines = accessLines(s.output());
      expect(lines.length).toBeGreaterThan(1);
      // the peer is read as the request arrives; where the reset was quicker still, it is "unknown"
      const claimed = lines.filter((l) => !["127.0.0.2", "unknown"].includes(l.ip) || l.scheme !== "http").map((l) => `${l.path} ${l.ip} ${l.scheme}`);
      expect(claimed).toEqual([]);
    });

    test(`${runtime}: HTTP/1.0 without Host (haproxy's default check) gets real answers from /ready, /health and the API`, async () => {
      const s = await startServer([], { runtime });
      const ready = await exchange(s.port, "GET /ready HTTP/1.0\r\n\r\n");
      expect(ready).toMatch(/^HTTP\/1\.[01] 200/);
      expect(ready).toContain('{"status":"ready","state":"ready"}');
      expect(await exchange(s.port, "GET /health HTTP/1.0\r\n\r\n")).toMatch(/^HTTP\/1\.[01] 200[^]*"status":"healthy"/);
      expect(await exchange(s.port, "GET /api/v1/rodent/version HTTP/1.0\r\n\r\n")).toMatch(/^HTTP\/1\.[01] 200[^]*"version"/);
      expect(await exchange(s.port, "GET /nothing/here HTTP/1.0\r\n\r\n")).toMatch(/^HTTP\/1\.[01] 404[^]*"path":"\/nothing\/here"/);
    });

    test(`${runtime}: a connection that sent nothing and one with a half-sent request do not hold the drain`, async () => {
      const s = await startServer([], { runtime, env: { RODENT_SERVER_SHUTDOWNTIMEOUT: "15s" } });
      const silent = connect(s.port, "127.0.0.1");
      const half = connect(s.port, "127.0.0.1");
      await Promise.all([new Promise((r) => silent.once("connect", r)), new Promise((r) => half.once("connect", r))]);
      for (const c of [silent, half]) c.on("error", () => {});
      half.write("GET /health HTTP/1.1\r\nHost: x\r\n");
      // the server has seen both connections once a request on a third one is answered
      expect((await fetch(`${s.url}/ready`)).status).toBe(200);
      const started = Date.now();
      s.signal("SIGTERM");
      expect(await s.exited()).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      silent.destroy();
      half.destroy();
    });

    test(`${runtime}: a body over server.bodyLimit (50 MB) gets the JSON 413 and the server keeps serving`, async () => {
      const s = await startServer([], { runtime, env: { RODENT_SERVER_BODYLIMIT: "1024" } });
      const res = await fetch(`${s.url}/api/v1/rodent/version`, { method: "POST", body: Buffer.alloc(50 * 1024 * 1024, 120), headers: { "x-request-id": "big-1" } });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ error: "request body too large", status: 413, limit: 1024, requestId: "big-1" });
      const small = await fetch(`${s.url}/no/such`, { method: "POST", body: "x".repeat(1000) });
      expect(small.status).toBe(404);
      expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    });

    test(`${runtime}: a pipelined request cut at drain is not logged as answered`, async () => {
      const s = await startServer(["--dev"], { runtime, env: { RODENT_LOGS_FORMAT: "json" } });
      const socket = connect(s.port, "127.0.0.1");
      await new Promise((r) => socket.once("connect", r));
      socket.on("error", () => {});
      let received = "";
      socket.on("data", (chunk) => (received += chunk.toString()));
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      socket.write(
        "GET /debug/sleep?ms=800 HTTP/1.1\r\nHost: x\r\nX-Request-Id: piped-1\r\n\r\n" +
          "GET /api/v1/rodent/version HTTP/1.1\r\nHost: x\r\nX-Request-Id: piped-2\r\n\r\n",
      );
      // (Bun closes a connection that pipelines behind a request in flight: then nothing was sent)
      let gone = false;
      void closed.then(() => (gone = true));
      await waitFor(async () => gone || (await getJson(`${s.url}/debug/lifecycle`)).inFlight >= 2);
      s.signal("SIGTERM");
      await Promise.race([closed, Bun.sleep(10_000)]);
      expect(await s.exited()).toBe(0);
      const got = new Set([...received.matchAll(/x-request-id: (piped-\d)/gi)].map((m) => m[1]));
      const lines = accessLines(s.output()).filter((l) => String(l.requestId).startsWith("piped-"));
      const claimed = lines.filter((l) => l.status !== 0 && !got.has(l.requestId)).map((l) => `${l.requestId} ${l.status}`);
      expect(claimed).toEqual([]);
    });
  }

  test("secret parameters are redacted in every spelling, and control characters are escaped in both log formats", async () => {
    for (const format of ["json", "pretty"] as const) {
      const s = await startServer([], { env: { RODENT_LOGS_FORMAT: format } });
      const target = "/x;jsessionid=S1/y?a=1;token=T1&sig=S2&pwd=P1&pass=P2&jwt=J1&code=C1&otp=O1&credential=C2&page=2&X-Amz-Signature=S3";
      const request = Buffer.concat([
        Buffer.from(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: evil`),
        Buffer.from([0x9b, 0x33, 0x31, 0x6d, 0x85, 0x7e]),
        Buffer.from("\r\n\r\n"),
      ]);
      expect(await exchange(s.port, request)).toStartWith("HTTP/1.1 404");
      const line = (await s.waitForOutput(/^.*access.*$/m))[0];
      for (const secret of ["S1", "T1", "S2", "P1", "P2", "J1", "C1", "O1", "C2", "S3"]) expect(line).not.toContain(`=${secret}`);
      expect(line).toContain("/x;jsessionid=REDACTED/y?a=1;token=REDACTED&sig=REDACTED&pwd=REDACTED&pass=REDACTED&jwt=REDACTED&code=REDACTED&otp=REDACTED&credential=REDACTED&page=2&X-Amz-Signature=REDACTED");
      expect(line).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
      if (format === "json") expect(JSON.parse(line).userAgent).toBe("evil\x9b31m\x85~");
      else expect(line).toContain('ua="evil\\u009b31m\\u0085~"');
      s.signal("SIGTERM");
      expect(await s.exited()).toBe(0);
    }
  });

  test("with the access log off the peer is read only by a route that shows it, and still right there", async () => {
    const s = await startServer(["--dev"], { env: { RODENT_LOGS_ACCESS: "false" } });
    expect(await getJson(`${s.url}/debug/request`)).toMatchObject({ ip: "127.0.0.1", scheme: "http", peer: "127.0.0.1" });
    const proxied = await getJson(`${s.url}/debug/request`, { headers: { "x-forwarded-for": "203.0.113.77" } });
    expect(proxied).toMatchObject({ ip: "203.0.113.77", peer: "127.0.0.1" });
  });

  test("through a trusted proxy, the scheme comes from the same hop as the client address", async () => {
    const s = await startServer(["--dev"]);
    const appended = await getJson(`${s.url}/debug/request`, { headers: { "x-forwarded-for": "203.0.113.77, 198.51.100.7", "x-forwarded-proto": "https, http" } });
    expect(appended).toMatchObject({ ip: "198.51.100.7", scheme: "http" });
    const forwarded = await getJson(`${s.url}/debug/request`, { headers: { forwarded: "for=203.0.113.77;proto=https, for=198.51.100.7;proto=http" } });
    expect(forwarded).toMatchObject({ ip: "198.51.100.7", scheme: "http" });
  });

  test("trustProxy entries that are not addresses are config errors in check, serve and reload", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    for (const bad of ["999.1.1.1", "1:2", ":", "::1/200", "10.0.0.0/99"]) {
      writeFileSync(file, `server:\n  trustProxy:\n    - 127.0.0.1\n    - "${bad}"\n`);
      const check = await runRodent(["config", "check", "-c", file]);
      expect(check.code).toBe(1);
      expect(check.stdout).not.toContain("configuration OK");
      expect(check.stderr).toMatch(new RegExp(`file ${file}:\\d+: server\\.trustProxy\\.1: expected an IP address or CIDR like 10\\.0\\.0\\.0/8: .+ \\(found "${bad.replaceAll(".", "\\.")}"\\)`));
      const serve = await runRodent(["serve", "-c", file, "--port", String(await freePort()), "--pid-file", join(dir, "r.pid")]);
      expect(serve.code).toBe(1);
      expect(serve.stderr).toContain("server.trustProxy.1: expected an IP address or CIDR");
      expect(serve.stderr + serve.stdout).not.toMatch(/unexpected error|\n\s+at /);
    }
    writeFileSync(file, "server:\n  trustProxy: [127.0.0.1]\n");
    const s = await startServer(["-c", file, "--dev"], { env: { HOME: dir } });
    writeFileSync(file, "server:\n  trustProxy: [127.0.0.1, 10.0.0.0/99]\n");
    s.signal("SIGHUP");
    await s.waitForOutput(/reload rejected.*trustProxy\.1: expected an IP address or CIDR/);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    expect((await getJson(`${s.url}/debug/request`, { headers: { "x-forwarded-for": "198.51.100.7" } })).ip).toBe("198.51.100.7");
  });
});
