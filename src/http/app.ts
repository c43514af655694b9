// The HTTP app: health, readiness, version and dev-only debug routes on Hono, behind a front door
// that handles request ids, client identity, drain behaviour and the access log. It reads live
// settings per request, so a reload swaps one reference and in-flight requests keep their snapshot.
import { Hono, type Context } from "hono";
import type { ConnEnv } from "./adapter";
import type { AccessRecord } from "../log/logger";
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
  access(record: AccessRecord): void;
  error(message: string, fields: Record<string, unknown>): void;
  debugConfig(): unknown;
  debugLifecycle(): unknown;
}

/** What every handler sees as c.env: the connection, and what the front door worked out. */
interface RequestEnv {
  conn: ConnEnv;
  requestId: string;
  settings: HttpSettings;
  /** Asked when the response is built: a request that began before the drain may end during it. */
  draining: () => boolean;
  /** Set by send(): the body size, for the access log. */
  bytes: number | null;
}

type Env = { Bindings: RequestEnv };

export type Handler = (request: Request, conn: ConnEnv) => Response | Promise<Response>;

const SANE_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * The app's front door, outside Hono's middleware chain because it runs on every request: it
 * takes or makes the request id, answers the health endpoint (its path can change on reload),
 * hands the rest to the Hono routes, and writes the access line. Responses are built once with
 * all their headers (Hono's c.header() and mutating a finished Response both cost more than the
 * routing itself).
 */
export function createApp(ctx: AppContext): Handler {
  const routes = createRoutes(ctx);
  const draining = () => ctx.state() === "draining";
  return (request, conn) => {
    const settings = ctx.settings();
    const given = request.headers.get("x-request-id");
    const requestId = given !== null && SANE_ID.test(given) ? given : crypto.randomUUID();
    const env: RequestEnv = { conn, requestId, settings, draining, bytes: null };
    const url = request.url;
    const path = pathOf(url);
    if (path === settings.healthEndpoint) return health(env, ctx);
    if (!settings.accessLog || path === "/ready") return routes.fetch(request, env);
    const started = performance.now();
    const logged = (response: Response) => {
      const client = clientInfo(conn.peer(request), request.headers, settings.trusted, schemeOf(url));
      ctx.access({
        requestId,
        method: request.method,
        path: redactQuery(url),
        status: response.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        bytes: env.bytes,
        ip: client.ip,
        scheme: client.scheme,
        userAgent: request.headers.get("user-agent"),
      });
      return response;
    };
    const response = routes.fetch(request, env);
    return response instanceof Promise ? response.then(logged) : logged(response);
  };
}

function createRoutes(ctx: AppContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get("/ready", (c) => {
    const state = ctx.state();
    return json(c.env, { status: state === "ready" ? "ready" : "not ready", state }, state === "ready" ? 200 : 503);
  });

  // The build never changes: serialise it once.
  const version = JSON.stringify(ctx.build);
  app.get("/api/v1/rodent/version", (c) => send(c.env, version, 200));

  const debug = new Hono<Env>();
  debug.use(async (c, next) => (c.env.settings.debug ? next() : notFound(c)));
  debug.get("/sleep", (c) => sleep(c));
  debug.get("/config", (c) => json(c.env, ctx.debugConfig()));
  debug.get("/lifecycle", (c) => json(c.env, ctx.debugLifecycle()));
  debug.get("/request", (c) => {
    const peer = c.env.conn.peer(c.req.raw);
    const client = clientInfo(peer, c.req.raw.headers, c.env.settings.trusted, schemeOf(c.req.url));
    return json(c.env, { requestId: c.env.requestId, ip: client.ip, scheme: client.scheme, peer: peer ?? null });
  });
  debug.get("/error", () => {
    throw new Error("a deliberate error from /debug/error");
  });
  // Fatal paths on purpose, to check supervision and alerting: the process logs and shuts down (1).
  debug.get("/crash", (c) => {
    const kind = c.req.query("kind");
    if (kind === "rejection") void Promise.reject(new Error("a deliberate unhandled rejection from /debug/crash"));
    else if (kind === "exception") setTimeout(() => {
      throw new Error("a deliberate uncaught exception from /debug/crash");
    });
    else return json(c.env, { error: "kind must be exception or rejection", status: 400 }, 400);
    return json(c.env, { crashing: kind }, 202);
  });
  app.route("/debug", debug);

  app.notFound((c) => notFound(c));
  app.onError((error, c) => {
    ctx.error(`request failed: ${error.message}`, { event: "request-error", requestId: c.env.requestId, stack: error.stack });
    return json(c.env, { error: "internal server error", status: 500, requestId: c.env.requestId }, 500);
  });
  return app;
}

function json(env: RequestEnv, body: unknown, status = 200): Response {
  return send(env, JSON.stringify(body), status);
}

/** A JSON response with every header it will carry, its size noted for the access log. */
function send(env: RequestEnv, text: string, status: number): Response {
  const bytes = Buffer.byteLength(text);
  env.bytes = bytes;
  const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(bytes), "x-request-id": env.requestId };
  // While draining, tell keep-alive clients (and proxies) not to reuse this connection.
  if (env.draining()) headers.connection = "close";
  return new Response(text, { status, headers });
}

function health(env: RequestEnv, ctx: AppContext): Response {
  const state = ctx.state();
  const alive = state !== "stopped";
  return json(env, { status: alive ? "healthy" : "stopped", state, ...ctx.healthFields() }, alive ? 200 : 503);
}

function notFound(c: Context<Env>): Response {
  return json(c.env, { error: "not found", status: 404, path: c.req.path, requestId: c.env.requestId }, 404);
}

/** The path of a request URL without building a URL object. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

/** GET /debug/sleep?ms=N: answers after N ms (at most 60 s), early if the client goes away. */
async function sleep(c: Context<Env>): Promise<Response> {
  const wanted = Number(c.req.query("ms") ?? "0");
  if (!Number.isFinite(wanted) || wanted < 0) return json(c.env, { error: "ms must be a number of milliseconds", status: 400 }, 400);
  const ms = Math.min(wanted, 60_000);
  const timeoutMs = c.env.settings.requestTimeoutMs;
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
  if (outcome === "timeout") return json(c.env, { error: "request timeout", status: 503, requestId: c.env.requestId }, 503);
  return json(c.env, { slept: ms, outcome });
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
