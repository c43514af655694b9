// The Hono app: health, readiness, version, dev-only debug routes, and one middleware for request
// ids, client identity, drain behaviour and the access log. It reads live settings per request,
// so a reload swaps one reference and in-flight requests keep the snapshot they started with.
import { Hono, type Context } from "hono";
import type { ConnEnv } from "./adapter";
import { clientInfo, type TrustTest } from "./trust";

export interface HttpSettings {
  healthEndpoint: string;
  accessLog: boolean;
  trusted: TrustTest;
  debug: boolean;
  requestTimeoutMs: number;
}

export interface BuildInfo {
  version: string;
  commit: string;
  buildTime: string;
  runtime: string;
}

export interface AppContext {
  settings(): HttpSettings;
  state(): string;
  build: BuildInfo;
  /** Fields /health adds: pid, uptime, config hash and generation. */
  healthFields(): Record<string, unknown>;
  access(record: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
  debugConfig(): unknown;
  debugLifecycle(): unknown;
}

type Env = { Bindings: ConnEnv; Variables: { requestId: string; settings: HttpSettings } };

const SANE_ID = /^[\w.:@/+=-]{1,128}$/;

export function createApp(ctx: AppContext): Hono<Env> {
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    const started = performance.now();
    const settings = ctx.settings();
    const given = c.req.header("x-request-id");
    const requestId = given && SANE_ID.test(given) ? given : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("settings", settings);
    const path = c.req.path;
    const isProbe = path === settings.healthEndpoint || path === "/ready";
    if (path === settings.healthEndpoint) c.res = health(ctx);
    else await next();
    const res = c.res;
    res.headers.set("X-Request-Id", requestId);
    if (ctx.state() === "draining") res.headers.set("Connection", "close");
    if (settings.accessLog && !isProbe) {
      const client = clientInfo(c.env?.peer?.(), c.req.raw.headers, settings.trusted, schemeOf(c.req.url));
      const length = res.headers.get("content-length");
      ctx.access({
        requestId,
        method: c.req.method,
        path: redactQuery(c.req.url),
        status: res.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        bytes: length === null ? null : Number(length),
        ip: client.ip,
        scheme: client.scheme,
        userAgent: c.req.header("user-agent") ?? null,
      });
    }
  });

  app.get("/ready", () => {
    const state = ctx.state();
    return json({ status: state === "ready" ? "ready" : "not ready", state }, state === "ready" ? 200 : 503);
  });

  app.get("/api/v1/rodent/version", () => json(ctx.build));

  const debug = new Hono<Env>();
  debug.use(async (c, next) => (c.var.settings.debug ? next() : notFound(c)));
  debug.get("/sleep", (c) => sleep(c));
  debug.get("/config", () => json(ctx.debugConfig()));
  debug.get("/lifecycle", () => json(ctx.debugLifecycle()));
  debug.get("/request", (c) => {
    const client = clientInfo(c.env?.peer?.(), c.req.raw.headers, c.var.settings.trusted, schemeOf(c.req.url));
    return json({ requestId: c.var.requestId, ip: client.ip, scheme: client.scheme, peer: c.env?.peer?.() ?? null });
  });
  debug.get("/error", () => {
    throw new Error("a deliberate error from /debug/error");
  });
  app.route("/debug", debug);

  app.notFound((c) => notFound(c));
  app.onError((error, c) => {
    ctx.error(`request failed: ${error.message}`, { event: "request-error", requestId: c.var.requestId, stack: error.stack });
    return json({ error: "internal server error", status: 500, requestId: c.var.requestId }, 500);
  });
  return app;
}

/** A JSON response with its Content-Length set, so the access log can count bytes out. */
export function json(body: unknown, status = 200): Response {
  const text = JSON.stringify(body);
  return new Response(text, {
    status,
    headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
  });
}

function health(ctx: AppContext): Response {
  const state = ctx.state();
  const alive = state !== "stopped";
  return json({ status: alive ? "healthy" : "stopped", state, ...ctx.healthFields() }, alive ? 200 : 503);
}

function notFound(c: Context<Env>): Response {
  return json({ error: "not found", status: 404, path: c.req.path, requestId: c.var.requestId }, 404);
}

/** GET /debug/sleep?ms=N: answers after N ms (at most 60 s), early if the client goes away. */
async function sleep(c: Context<Env>): Promise<Response> {
  const wanted = Number(c.req.query("ms") ?? "0");
  if (!Number.isFinite(wanted) || wanted < 0) return json({ error: "ms must be a number of milliseconds", status: 400 }, 400);
  const ms = Math.min(wanted, 60_000);
  const timeoutMs = c.var.settings.requestTimeoutMs;
  const outcome = await new Promise<"slept" | "gone" | "timeout">((resolve) => {
    const done = (why: "slept" | "gone" | "timeout") => {
      clearTimeout(sleepTimer);
      clearTimeout(limitTimer);
      c.req.raw.signal.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onAbort = () => done("gone");
    const sleepTimer = setTimeout(() => done("slept"), ms);
    const limitTimer = setTimeout(() => done("timeout"), timeoutMs);
    c.req.raw.signal.addEventListener("abort", onAbort);
  });
  if (outcome === "timeout") return json({ error: "request timeout", status: 503, requestId: c.var.requestId }, 503);
  return json({ slept: ms, outcome });
}

const SECRET_PARAM = /^(.*(token|password|passwd|secret|key|auth|signature|session).*)$/i;

function redactQuery(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const pathAndQuery = start < 0 ? "/" : url.slice(start);
  const q = pathAndQuery.indexOf("?");
  if (q < 0) return pathAndQuery;
  const params = new URLSearchParams(pathAndQuery.slice(q + 1));
  const secrets = [...params.keys()].filter((key) => SECRET_PARAM.test(key));
  if (secrets.length === 0) return pathAndQuery;
  for (const key of secrets) params.set(key, "REDACTED");
  return `${pathAndQuery.slice(0, q)}?${params.toString()}`;
}

function schemeOf(url: string): string {
  return url.startsWith("https:") ? "https" : "http";
}
