import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import * as v from "valibot";
import { envName } from "../../src/config/load";
import { Scope } from "../../src/kernel/scope";
import { MetricsRegistry } from "../../src/metrics/registry";
import { definePlugin } from "../../src/plugin/define";
import { PluginHost, PluginStartError } from "../../src/plugin/host";
import type { Plugin } from "../../src/plugin/types";
import { checkApp } from "../../src/plugin/validate";
import { envPrefix } from "../../src/program";

function harness(plugins: Plugin<any>[], config: Record<string, unknown> = {}) {
  const logged: string[] = [];
  const failed: string[] = [];
  let stopping = false;
  const log = (tag: string) => ({
    info: (m: string) => void logged.push(`${tag}: ${m}`),
    warn: (m: string) => void logged.push(`${tag}: ${m}`),
    error: (m: string) => void logged.push(`${tag}: ${m}`),
    debug: (m: string) => void logged.push(`${tag}: ${m}`),
  });
  const metrics = new MetricsRegistry();
  const instance = { state: () => "ready", uptimeMs: () => 0, inFlight: () => 0, scopes: () => ({}), config: () => ({ hash: "", generation: 1, file: null, values: {}, origins: {} }) };
  const host = new PluginHost({ plugins, app: { name: "t", version: "1", development: false }, log, config: () => config, instance, metrics: (p) => metrics.forPlugin(p, () => {}), stopping: () => stopping, fail: (r) => void failed.push(r) });
  return { host, logged, failed, stop: () => (stopping = true) };
}

describe("plugins in the kernel's scope tree", () => {
  test("a plugin's signal aborts at its own turn: after what closes before it, not when the shutdown begins", async () => {
    const order: string[] = [];
    const root = new Scope("root", { onCleanupError: (f) => void order.push(`failed ${f.scope}/${f.cleanup}`) });
    const plugins = root.child("plugins");
    const http = root.child("http");
    const signals: AbortSignal[] = [];
    const make = (name: string) =>
      definePlugin({
        name,
        start(ctx) {
          signals.push(ctx.signal);
          ctx.scope.defer("first", () => void order.push(`${name} cleanup first`));
          ctx.run("worker", async (signal) => {
            await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
            await Bun.sleep(5);
            order.push(`${name} worker ended`);
          });
          ctx.scope.defer("second", () => void order.push(`${name} cleanup second`));
          ctx.scope.defer("broken", () => {
            throw new Error("no");
          });
        },
      });
    const { host } = harness([make("a"), make("b")]);
    await host.start(plugins);
    const seen: boolean[] = [];
    http.defer("drain", async () => {
      await Bun.sleep(5);
      seen.push(plugins.signal.aborted, ...signals.map((sig) => sig.aborted));
      order.push("http drained");
    });
    await root.close("SIGTERM");
    expect(order).toEqual([
      "http drained",
      "b worker ended", "failed b/broken", "b cleanup second", "b cleanup first",
      "a worker ended", "failed a/broken", "a cleanup second", "a cleanup first",
    ]);
    // the plugins' parent aborted at once; the plugins' own signals waited for their turn
    expect(seen).toEqual([true, false, false]);
    expect(signals.map((sig) => sig.aborted)).toEqual([true, true]);
  });

  test("a worker that fails before the shutdown asks for a shutdown naming it; one that ends by its abort is quiet", async () => {
    const root = new Scope("root");
    const { host, failed, logged } = harness([
      definePlugin({
        name: "jobs",
        start(ctx) {
          ctx.run("ticker", async () => {
            throw new Error("boom");
          });
        },
      }),
    ]);
    await host.start(root.child("plugins"));
    await Bun.sleep(5);
    expect(failed).toEqual(["worker ticker of plugin jobs failed"]);
    expect(logged).toContain("jobs: worker ticker failed: boom");

    const errors: string[] = [];
    const quiet = new Scope("root", { onCleanupError: (f) => void errors.push(f.cleanup) });
    const poller = harness([
      definePlugin({ name: "poll", start: (ctx) => ctx.run("poller", (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)))) }),
    ]);
    await poller.host.start(quiet.child("plugins"));
    poller.stop();
    await quiet.close("done");
    expect(errors).toEqual([]);
    expect(poller.failed).toEqual([]);
  });

  test("a start that throws is a PluginStartError naming the plugin; the plugins started before it keep their scopes", async () => {
    const root = new Scope("root");
    const closed: string[] = [];
    const { host } = harness([
      definePlugin({ name: "first", start: (ctx) => ctx.scope.defer("conn", () => void closed.push("first/conn")) }),
      definePlugin({ name: "second", start: () => Promise.reject(new Error("unreachable")) }),
    ]);
    const error = await host.start(root.child("plugins")).catch((e) => e);
    expect(error).toBeInstanceOf(PluginStartError);
    expect(error.message).toBe('plugin "second" failed to start: unreachable');
    await root.close("start-up failed");
    expect(closed).toEqual(["first/conn"]);
  });

  test("a reload hook that throws rolls back the hooks that ran and names the plugin", async () => {
    const calls: string[] = [];
    const { host } = harness([
      definePlugin({ name: "a", start: () => ({ reload: (next: unknown, previous: unknown) => void calls.push(`a ${previous}->${next}`) }) }),
      definePlugin({
        name: "b",
        start: () => ({
          reload: () => {
            throw new Error("not now");
          },
        }),
      }),
    ]);
    await host.start(new Scope("root"));
    expect(await host.reload({ a: 2, b: 2 }, { a: 1, b: 1 })).toBe('plugin "b" rejected the reload: not now');
    expect(calls).toEqual(["a 1->2", "a 2->1"]);
  });

  test("readiness: marks and checks, a false answer and a throw each named, all at once", async () => {
    const { host } = harness([
      definePlugin({ name: "db", start: () => ({ ready: () => false }) }),
      definePlugin({ name: "cache", start: () => ({ ready: () => Promise.reject(new Error("cold")) }) }),
      definePlugin({ name: "queue", start: (ctx) => ctx.markNotReady("draining the backlog") }),
      definePlugin({ name: "fine", start: () => ({ ready: () => true }) }),
    ]);
    expect(host.asksReadiness).toBe(false);
    await host.start(new Scope("root"));
    expect(host.asksReadiness).toBe(true);
    expect(await host.notReady()).toEqual([
      { plugin: "queue", reason: "draining the backlog" },
      { plugin: "db", reason: "its check answered false" },
      { plugin: "cache", reason: "cold" },
    ]);
  });

  test("two apps in one process do not see each other's plugins", async () => {
    const routesOf = (path: string) => definePlugin({ name: "web", start: () => ({ routes: new Hono().get(path, (c) => c.text(path)) }) });
    const one = harness([routesOf("/one")]).host;
    const two = harness([routesOf("/two"), definePlugin({ name: "extra", start: () => {} })]).host;
    await one.start(new Scope("one"));
    await two.start(new Scope("two"));
    const [oneRoutes] = await one.mounted;
    const [twoRoutes] = await two.mounted;
    expect((await oneRoutes!.request("/one")).status).toBe(200);
    expect((await oneRoutes!.request("/two")).status).toBe(404);
    expect((await twoRoutes!.request("/two")).status).toBe(200);
    expect((await one.mounted).length).toBe(1);
  });

  test("a section's config is read live: replaced whole, never merged", async () => {
    let config: Record<string, unknown> = { jobs: { every: 1 } };
    const seen: unknown[] = [];
    const plugin = definePlugin({
      name: "jobs",
      section: { schema: v.object({ every: v.number() }) },
      start(ctx) {
        seen.push(ctx.config().every);
        return { reload: () => void seen.push(ctx.config().every) };
      },
    });
    const { host } = harness([plugin], new Proxy({}, { get: (_, key) => config[key as string] }));
    await host.start(new Scope("root"));
    config = { jobs: { every: 2 } };
    await host.reload({ jobs: { every: 3 } }, config);
    expect(seen).toEqual([1, 2]);
  });
});

describe("app definitions and names", () => {
  test("section keys map to <APP>_<PLUGIN>_<KEY>, dashes to underscores", () => {
    expect(envPrefix("notes")).toBe("NOTES_");
    expect(envPrefix("my-app")).toBe("MY_APP_");
    expect(envName("jobs.failAfterMs", "NOTES_")).toBe("NOTES_JOBS_FAILAFTERMS");
    expect(envName("rate-limit.perMinute", "MY_APP_")).toBe("MY_APP_RATE_LIMIT_PERMINUTE");
    expect(envName("server.port", "RODENT_")).toBe("RODENT_SERVER_PORT");
  });

  test("an app with a bad or clashing name is refused with what to change", () => {
    const start = () => {};
    expect(() => checkApp({ name: "Notes", plugins: [] })).toThrow("app name \"Notes\" is not lower-case");
    expect(() => checkApp({ name: "notes", plugins: [{ name: "db", start }, { name: "db", start }] })).toThrow('two plugins are named "db"');
    expect(() => checkApp({ name: "notes", plugins: [{ name: "server", start }] })).toThrow("rodent's own config section");
    expect(() => checkApp({ name: "notes", plugins: [{ name: "db", section: { schema: v.string() }, start }] })).toThrow("must be a valibot object schema");
    expect(() => checkApp({ name: "notes", plugins: [{ name: "db", section: { schema: v.object({}) }, start }] })).not.toThrow();
    const withPath = v.object({ path: v.optional(v.string(), "/tmp/x") });
    expect(() => checkApp({ name: "notes", plugins: [{ name: "db", section: { schema: withPath, restart: ["path"] }, start }] })).not.toThrow();
    expect(() => checkApp({ name: "notes", plugins: [{ name: "db", section: { schema: withPath, restart: ["pth" as "path"] }, start }] })).toThrow('plugin "db": section.restart names "pth", which its schema does not have');
  });
});
