// Abuse over loopback: slow clients, many idle connections, oversized and malformed requests.
import { describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { getJson, startServer, waitFor } from "../helpers";

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Sends raw bytes and resolves with everything received until the server closes or 3 s pass. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => s.write(bytes));
    let text = "";
    s.on("data", (d) => (text += d.toString()));
    const done = () => resolve(text);
    s.on("close", done);
    s.on("error", done);
    setTimeout(() => (s.destroy(), done()), 3000);
  });
}

function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

describe("HTTP abuse", () => {
  test("a slowloris client (headers dribbled) is cut by the header timeout while others are served", async () => {
    const s = await startServer();
    const slow = await open(s.port);
    const started = Date.now();
    let i = 0;
    const dribble = setInterval(() => slow.write("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "[i++] ?? "a"), 300);
    const closed = new Promise((r) => slow.once("close", r));
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    await closed;
    clearInterval(dribble);
    // Bun.serve's own header timeout (about 10 s, not configurable) is not reset by dribbled bytes
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  }, 40_000);

  test("a slowloris client does not hold the shutdown: the drain cuts it once no request is in flight", async () => {
    const s = await startServer();
    const slow = await open(s.port);
    let i = 0;
    const dribble = setInterval(() => slow.write("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "[i++] ?? "a"), 100);
    const closed = new Promise((r) => slow.once("close", r));
    await Bun.sleep(500);
    const started = Date.now();
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    await closed;
    clearInterval(dribble);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test("2000 idle keep-alive connections, then SIGTERM: a prompt exit 0", async () => {
    const s = await startServer();
    const sockets: Socket[] = [];
    for (let i = 0; i < 2000; i += 100) sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => open(s.port)))));
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    const started = Date.now();
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    for (const sock of sockets) sock.destroy();
  });

  test("oversized headers and bodies get a clean 4xx and the server goes on", async () => {
    const s = await startServer([], { env: { RODENT_SERVER_BODYLIMIT: "4096" } });
    const headers = await raw(s.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(100_000)}\r\n\r\n`);
    expect(headers).toMatch(/^HTTP\/1\.1 4\d\d/);
    const body = await fetch(`${s.url}/api/v1/rodent/version`, { method: "POST", body: "x".repeat(100_000) });
    expect(body.status).toBe(413);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });

  // What each malformed request must get, per runtime: a rejection naming the fault, never a 200,
  // a 5xx other than 505, or a silent close.
  const MALFORMED: { what: string; bytes: string; bun: string; node: string }[] = [
    { what: "no request line at all", bytes: "GARBAGE\r\n\r\n", bun: "400", node: "400" },
    { what: "a method without a target", bytes: "GET\r\n\r\n", bun: "400", node: "400" },
    { what: "an unknown HTTP version", bytes: "GET / HTTP/9.9\r\n\r\n", bun: "505", node: "400" },
    { what: "binary bytes", bytes: "\x00\x01\x02\r\n\r\n", bun: "400", node: "400" },
    { what: "a header line without a colon", bytes: "GET /health HTTP/1.1\r\nHost x\r\n\r\n", bun: "400", node: "400" },
    { what: "HTTP/1.1 without Host", bytes: "GET /health HTTP/1.1\r\n\r\n", bun: "400", node: "400" },
    { what: "a Content-Length that is not a number", bytes: "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", bun: "400", node: "400" },
    { what: "Transfer-Encoding and Content-Length together (smuggling)", bytes: "POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", bun: "400", node: "400" },
    // not malformed HTTP, only a path no route has: rodent's own JSON 404 (Connection: close, so
    // the answer ends with the connection instead of raw()'s 3 s wait on a kept-alive one)
    { what: "broken percent-encoding in the path", bytes: `GET /${"%".repeat(10)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, bun: "404", node: "404" },
  ];

  for (const runtime of ["bun", "node"] as const) {
    test(`malformed requests get the status that names their fault, and the server goes on (${runtime})`, async () => {
      const s = await startServer([], { runtime });
      const seen = [];
      for (const c of MALFORMED) seen.push({ what: c.what, status: (await raw(s.port, c.bytes)).match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? "no answer" });
      expect(seen).toEqual(MALFORMED.map((c) => ({ what: c.what, status: c[runtime] })));
      expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    });
  }

  test("clients that disconnect mid-request and mid-response do not disturb the server", async () => {
    const s = await startServer(["--dev"]);
    for (let i = 0; i < 50; i++) {
      const c = new AbortController();
      const p = fetch(`${s.url}/debug/sleep?ms=200`, { signal: c.signal }).catch(() => "aborted");
      setTimeout(() => c.abort(), i % 5);
      await p;
      const sock = await open(s.port);
      sock.write("GET /api/v1/rodent/version HTTP/1.1\r\nHost: x\r\n\r\n");
      sock.destroy();
    }
    await waitFor(async () => (await getJson(`${s.url}/debug/lifecycle`)).inFlight === 1, 5000, "no request left in flight");
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });

  test("10 000 requests with random paths and methods: no 5xx, memory flat", async () => {
    const s = await startServer();
    const methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
    const chars = "abcXYZ019-._~%/";
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const run = async (count: number) => {
      const statuses = new Map<number, number>();
      for (let i = 0; i < count; i += 50) {
        await Promise.all(Array.from({ length: 50 }, async () => {
          const path = Array.from({ length: 1 + rand(30) }, () => chars[rand(chars.length)]).join("");
          const res = await fetch(`${s.url}/${path}?q=${rand(1000)}`, { method: methods[rand(methods.length)] });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }));
      }
      return statuses;
    };
    await run(2000);
    const before = rssMiB(s.pid);
    const statuses = await run(8000);
    const after = rssMiB(s.pid);
    expect([...statuses.keys()].filter((code) => code >= 500)).toEqual([]);
    expect(after - before).toBeLessThan(40);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });
});
