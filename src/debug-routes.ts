// rodent's /debug routes, as a plugin like any application's: mounted only when the instance
// starts in development mode (--dev), on the public API alone.
import { Hono } from "hono";
import { definePlugin } from "./plugin/define";
import type { RodentEnv } from "./plugin/types";

export const debugRoutes = definePlugin({
  name: "debug",
  start(ctx) {
    const config = ctx.instance.config;
    const dev = (config().values.development as { enabled: boolean }).enabled;
    if (!dev) return;
    const app = new Hono<RodentEnv>().basePath("/debug");
    // only the client's leaving ends a sleep early: it stands for a handler that ignores the deadline
    app.get("/sleep", (c) => sleep(c.req.query("ms"), c.req.raw.signal).then((r) => c.json(r, r.error ? 400 : 200)));
    app.get("/config", (c) => {
      const { hash, generation, file, values, origins } = config();
      return c.json({ hash, generation, file, config: values, origins });
    });
    app.get("/lifecycle", (c) => c.json({ state: ctx.instance.state(), uptimeMs: ctx.instance.uptimeMs(), inFlight: ctx.instance.inFlight(), scopes: ctx.instance.scopes() }));
    app.get("/request", (c) => c.json({ requestId: c.env.requestId, ...c.env.client(), peer: c.env.peer ?? null }));
    app.get("/error", () => {
      throw new Error("a deliberate error from /debug/error");
    });
    // Fatal paths on purpose, to check supervision and alerting: the process logs and shuts down (1).
    app.get("/crash", (c) => {
      const kind = c.req.query("kind");
      if (kind === "rejection") void Promise.reject(new Error("a deliberate unhandled rejection from /debug/crash"));
      else if (kind === "exception") setTimeout(() => {
        throw new Error("a deliberate uncaught exception from /debug/crash");
      });
      else return c.json({ error: "kind must be exception or rejection", status: 400 }, 400);
      return c.json({ crashing: kind }, 202);
    });
    return { routes: app };
  },
});

/**
 * GET /debug/sleep?ms=N: answers after N ms (at most 60 s), early if the client goes away; the
 * front door answers 503 at the request timeout.
 */
async function sleep(raw: string | undefined, signal: AbortSignal): Promise<{ slept?: number; outcome?: string; error?: string; status?: number }> {
  const wanted = Number(raw ?? "0");
  if (!Number.isFinite(wanted) || wanted < 0) return { error: "ms must be a number of milliseconds", status: 400 };
  const ms = Math.min(wanted, 60_000);
  const outcome = await new Promise<"slept" | "gone">((resolve) => {
    const done = (why: "slept" | "gone") => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onAbort = () => done("gone");
    const timer = setTimeout(() => done("slept"), ms);
    signal.addEventListener("abort", onAbort);
  });
  return { slept: ms, outcome };
}
