import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { getJson, startServer, waitFor } from "./helpers";

/** Starts a request and resolves with its outcome; never rejects. */
function request(url: string): Promise<{ status: number; body: string } | { error: string }> {
  return fetch(url).then(
    async (r) => ({ status: r.status, body: await r.text() }),
    (e: Error) => ({ error: e.message }),
  );
}

/** Waits until the server reports `count` sleeping requests in flight. */
async function inFlight(url: string, count = 1): Promise<void> {
  await waitFor(async () => (await getJson(`${url}/debug/lifecycle`)).inFlight >= count + 1, 10_000, "requests in flight");
}

describe("graceful shutdown", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} lets an in-flight request finish with 200, then exits 0`, async () => {
      const s = await startServer(["--dev"]);
      const pending = request(`${s.url}/debug/sleep?ms=1500`);
      await inFlight(s.url);
      s.signal(signal);
      const result = await pending;
      expect(result).toEqual({ status: 200, body: expect.stringContaining('"slept":1500') });
      expect(await s.exited()).toBe(0);
      expect(existsSync(s.pidFile)).toBe(false);
    });
  }

  test("a new connection after the signal is not served 200", async () => {
    const s = await startServer(["--dev"]);
    const pending = request(`${s.url}/debug/sleep?ms=2000`);
    await inFlight(s.url);
    s.signal("SIGTERM");
    await s.waitForOutput(/drain started/);
    const late = await fetch(`${s.url}/health`, { headers: { connection: "close" } }).then((r) => r.status, () => "refused");
    expect(late).not.toBe(200);
    expect(await pending).toMatchObject({ status: 200 });
    expect(await s.exited()).toBe(0);
  });

  test("a second SIGINT during the drain exits at once with 130 and removes the PID file", async () => {
    const s = await startServer(["--dev"]);
    void request(`${s.url}/debug/sleep?ms=20000`);
    await inFlight(s.url);
    s.signal("SIGINT");
    await s.waitForOutput(/drain started/);
    const started = Date.now();
    s.signal("SIGINT");
    expect(await s.exited()).toBe(130);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(existsSync(s.pidFile)).toBe(false);
  });

  test("a second SIGTERM during the drain exits with 143", async () => {
    const s = await startServer(["--dev"]);
    void request(`${s.url}/debug/sleep?ms=20000`);
    await inFlight(s.url);
    s.signal("SIGTERM");
    await s.waitForOutput(/drain started/);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(143);
  });

  test("--shutdown-timeout 1s with a 20 s request in flight exits in about a second with 4", async () => {
    const s = await startServer(["--dev", "--shutdown-timeout", "1s"]);
    const pending = request(`${s.url}/debug/sleep?ms=20000`);
    await inFlight(s.url);
    const started = Date.now();
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(4);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5000);
    expect(s.output()).toContain("shutdown deadline of 1000 ms passed");
    expect(await pending).not.toMatchObject({ status: 200 });
    expect(existsSync(s.pidFile)).toBe(false);
  });

  test("an idle process exits promptly on SIGTERM with 0", async () => {
    const s = await startServer();
    const started = Date.now();
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(s.output()).toMatch(/"event":"stopped".*"exitCode":0/);
  });

  test("the log tells the shutdown in order: signal, shutdown, drain, drained, stopped", async () => {
    const s = await startServer(["--log-format", "json"]);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    const events = s.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).event as string);
    const order = ["ready", "signal", "shutdown-started", "drain-started", "drained", "stopped"];
    expect(events.filter((e) => order.includes(e))).toEqual(order);
  });

  test("SIGHUP with no config file logs a reload and keeps serving", async () => {
    const s = await startServer(["--dev"]);
    s.signal("SIGHUP");
    await s.waitForOutput(/reload applied/);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });
});

describe("development mode", () => {
  test("/debug routes answer only with --dev", async () => {
    const plain = await startServer();
    expect((await fetch(`${plain.url}/debug/lifecycle`)).status).toBe(404);
    expect((await fetch(`${plain.url}/debug/sleep?ms=1`)).status).toBe(404);
    const dev = await startServer(["--dev"]);
    const life = await getJson(`${dev.url}/debug/lifecycle`);
    expect(life).toMatchObject({ state: "ready", inFlight: 1 }); // the request asking counts
    // the root's children are made in reverse CLOSE_ORDER: it closes its newest child first
    expect(life.scopes.children.map((c: { name: string }) => c.name)).toEqual(["pid-file", "status", "systemd", "plugins", "http", "handover"]);
    const cfg = await getJson(`${dev.url}/debug/config`);
    expect(cfg.config.server.port).toBe(dev.port);
    expect(cfg.origins["server.port"]).toBe("flag --port");
    expect(cfg.origins["development.enabled"]).toBe("flag --dev");
  });

  test("/debug/sleep aborts early when the client goes away", async () => {
    const s = await startServer(["--dev"]);
    const controller = new AbortController();
    const pending = fetch(`${s.url}/debug/sleep?ms=20000`, { signal: controller.signal }).catch(() => "aborted");
    await inFlight(s.url);
    controller.abort();
    expect(await pending).toBe("aborted");
    // an idle server drains at once: no request is left sleeping
    const started = Date.now();
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test("a route that throws answers a JSON 500 without a stack", async () => {
    const s = await startServer(["--dev"]);
    const res = await fetch(`${s.url}/debug/error`);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ error: "internal server error", status: 500 });
    expect(body).not.toContain("at ");
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });
});
