// The HTTP app: health, readiness and version on Hono, and the plugins' routes (rodent's /debug
// among them) mounted beside them, behind a front door that handles request ids, client identity, drain
// behaviour, the request timeout and the access log. It reads live settings per request, so a
// reload swaps one reference and in-flight requests keep their snapshot.
import { Hono, type Context } from "hono";
import type { ConnEnv } from "./adapter";
import type { AccessRecord } from "../log/logger";
import { clientInfo, type TrustTest } from "./trust";

export interface HttpSettings {
  healthEndpoint: string;
  accessLog: boolean;
  trusted: TrustTest;
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
  /**
   * The application's Hono apps, once every plugin started; they are mounted beside rodent's own
   * routes then. Until it resolves, a request for any other path waits (at most the request timeout).
   */
  mounted: Promise<Array<Hono<any, any, any>>>;
  /** Readiness beyond the state: undefined when nothing else is asked, else what fails (empty: ready). */
  notReady(): Promise<Array<{ plugin: string; reason: string }>> | undefined;
  /** Aborted when the shutdown deadline is reached: every request's signal fires then. */
  deadline: AbortSignal;
}

/**
 * What every handler sees as c.env: the runtime's own bindings (so Hono's getConnInfo works), the
 * connection, and what the front door worked out. The public RequestBindings type is its face.
 */
class RequestEnv {
  [binding: string]: unknown;
  /** Set by send(): the body size, for the access log; null for a response built elsewhere. */
  bytes: number | null = null;
  private controller: AbortController | undefined;
  private combined: AbortSignal | undefined;

  constructor(
    readonly raw: Request,
    readonly conn: ConnEnv,
    readonly requestId: string,
    readonly settings: HttpSettings,
    /** Asked when the response is built: a request that began before the drain may end during it. */
    readonly draining: () => boolean,
    private readonly deadline: AbortSignal,
  ) {
    for (const key in conn.bindings) this[key] = conn.bindings[key];
  }

  /** Fires when the client goes away, the request times out, or the shutdown deadline is reached; made on first use. */
  get signal(): AbortSignal {
    if (!this.combined) {
      this.controller = new AbortController();
      this.combined = AbortSignal.any([this.raw.signal, this.deadline, this.controller.signal]);
    }
    return this.combined;
  }

  get peer(): string | undefined {
    return this.conn.peer(this.raw);
  }

  client(): { ip: string; scheme: string } {
    return clientInfo(this.peer, this.raw.headers, this.settings.trusted, schemeOf(this.raw.url));
  }

  timedOut(): void {
    this.controller?.abort(new Error("request timeout"));
  }
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
  let routes = createRoutes(ctx, []);
  // Until the plugins started, a path rodent does not serve waits for their routes.
  routes.notFound(async (c) => {
    const waited = await Promise.race([ctx.mounted.then(() => true), after(c.env.settings.requestTimeoutMs)]);
    return waited ? routes.fetch(c.req.raw, c.env) : json(c.env, { error: "starting", status: 503, requestId: c.env.requestId }, 503);
  });
  void ctx.mounted.then((apps) => (routes = createRoutes(ctx, apps)), () => {});
  const draining = () => ctx.state() === "draining";
  return (request, conn) => {
    const settings = ctx.settings();
    const given = request.headers.get("x-request-id");
    const requestId = given !== null && SANE_ID.test(given) ? given : crypto.randomUUID();
    const env = new RequestEnv(request, conn, requestId, settings, draining, ctx.deadline);
    const url = request.url;
    const path = pathOf(url);
    if (path === settings.healthEndpoint) return health(env, ctx);
    if (!settings.accessLog || path === "/ready") return finish(env, routes.fetch(request, env));
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
    const response = finish(env, routes.fetch(request, env));
    return response instanceof Promise ? response.then(logged) : logged(response);
  };
}

/**
 * A response rodent's send() did not build (an application route's) gets the request id, and
 * Connection: close while draining; an asynchronous one is bounded by the request timeout.
 */
function finish(env: RequestEnv, response: Response | Promise<Response>): Response | Promise<Response> {
  if (!(response instanceof Promise)) return env.bytes === null ? stamp(env, response) : response;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Response>((resolve) => {
    timer = setTimeout(() => {
      env.timedOut();
      resolve(json(env, { error: "request timeout", status: 503, requestId: env.requestId }, 503));
    }, env.settings.requestTimeoutMs);
  });
  return Promise.race([response, late]).then((r) => {
    clearTimeout(timer);
    return env.bytes === null ? stamp(env, r) : r;
  });
}

function stamp(env: RequestEnv, response: Response): Response {
  let out = response;
  try {
    out.headers.set("x-request-id", env.requestId);
  } catch {
    // immutable headers (Response.redirect, a proxied fetch): copy once
    out = new Response(response.body, response);
    out.headers.set("x-request-id", env.requestId);
  }
  if (env.draining()) out.headers.set("connection", "close");
  const length = out.headers.get("content-length");
  env.bytes = length === null ? null : Number(length);
  return out;
}

const after = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms));

function createRoutes(ctx: AppContext, mounted: Array<Hono<any, any, any>>): Hono<Env> {
  const app = new Hono<Env>();

  app.get("/ready", (c): Response | Promise<Response> => {
    const state = ctx.state();
    const failing = state === "ready" ? ctx.notReady() : undefined;
    if (!failing) return json(c.env, { status: state === "ready" ? "ready" : "not ready", state }, state === "ready" ? 200 : 503);
    return failing.then((list) =>
      list.length === 0 ? json(c.env, { status: "ready", state }, 200) : json(c.env, { status: "not ready", state, failing: list }, 503),
    );
  });

  // The build never changes: serialise it once.
  const version = JSON.stringify(ctx.build);
  app.get("/api/v1/rodent/version", (c) => send(c.env, version, 200));

  for (const routes of mounted) app.route("/", routes);

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
