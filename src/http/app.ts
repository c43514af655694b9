// The HTTP app: health, readiness and version on Hono, and the plugins' routes (rodent's /debug
// among them) mounted beside them, behind a front door that handles request ids, client identity,
// drain behaviour, the request timeout and the access log. It reads live settings per request, so
// a reload swaps one reference and in-flight requests keep their snapshot.
import { Hono, type Context } from "hono";
import type { ConnEnv } from "./adapter";
import type { AccessRecord } from "../log/logger";
import type { RequestMetrics } from "../metrics/requests";
import { requestIdFor } from "./request-id";
import { pathOf, redactedTarget, schemeOf } from "./target";
import { traceOf, type TraceContext } from "./trace";
import { clientInfo, type TrustTest } from "./trust";

export interface HttpSettings {
  healthEndpoint: string;
  /** Where Prometheus scrapes; undefined when metrics.enabled is false (nothing is counted then). */
  metricsPath: string | undefined;
  accessLog: boolean;
  trusted: TrustTest;
  /** A handler still working after this long is answered 503 and its signal aborts. */
  requestTimeoutMs: number;
  /** A request that declares a larger body (Content-Length) is answered 413 before any handler. */
  bodyLimit: number;
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
  /** Aborted a moment before the shutdown deadline: every request's signal fires then. */
  deadline: AbortSignal;
  /** The instance's metrics: the front door counts requests into `requests`; `scrape` renders all. */
  metrics: { requests: RequestMetrics; scrape(accept: string | null): { contentType: string; body: string } };
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
  /** Set once the front door has answered for the handler (server.requestTimeout). */
  over = false;
  /** null until asked. */
  private peerSeen: string | undefined | null = null;
  /** null until asked. */
  private traceSeen: TraceContext | undefined | null = null;

  constructor(
    readonly request: Request,
    readonly conn: ConnEnv,
    readonly requestId: string,
    readonly settings: HttpSettings,
    /** Asked when the response is built: a request that began before the drain may end during it. */
    readonly draining: () => boolean,
    private readonly deadline: AbortSignal,
  ) {
    for (const key in conn.bindings) this[key] = conn.bindings[key];
  }

  /**
   * The connection's peer (see clientInfo), read on first use: the front door asks as the request
   * arrives when the access log needs it; without the log only a route that shows it asks (Bun's
   * requestIP() costs about 10 % of a bare server's CPU per request). Asked after the client went
   * away, it is unknown, and an unknown peer is never trusted.
   */
  get peer(): string | undefined {
    if (this.peerSeen === null) this.peerSeen = this.conn.peer(this.request);
    return this.peerSeen;
  }

  /**
   * The caller's W3C trace context (see trace.ts), parsed on first use: by the access log when it
   * is on, else only when a handler asks. Undefined without a valid traceparent header.
   */
  get trace(): TraceContext | undefined {
    if (this.traceSeen === null) this.traceSeen = traceOf(this.request.headers);
    return this.traceSeen;
  }

  /**
   * Aborts when the client goes away, server.requestTimeout passes or the shutdown deadline nears:
   * a handler that works for a while listens to it and stops. Made on first use, so quick handlers
   * pay nothing for it.
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      const abort = () => controller.abort();
      if (this.over || this.request.signal.aborted || this.deadline.aborted) abort();
      else {
        this.request.signal.addEventListener("abort", abort, { once: true });
        this.deadline.addEventListener("abort", abort, { once: true });
      }
    }
    return this.controller.signal;
  }

  /** The client as proxy trust resolves it, from the peer read when the request arrived. */
  client(): { ip: string; scheme: string } {
    return clientInfo(this.peer, this.request.headers, this.settings.trusted, schemeOf(this.request.url));
  }

  /** The front door gave up on the handler: its answer no longer matters. */
  timedOut(): void {
    this.over = true;
    this.controller?.abort();
  }
}

type Env = { Bindings: RequestEnv };

export type Handler = (request: Request, conn: ConnEnv) => Response | Promise<Response>;

/**
 * The app's front door, outside Hono's middleware chain because it runs on every request: it
 * reads the peer before anything can wait when the access log needs it (a peer that has gone is
 * unknown, never trusted; without the log, only a route that shows the peer reads it), takes
 * or makes the request id, refuses declared bodies over server.bodyLimit, answers the health
 * endpoint (its path can change on reload), hands the rest to the Hono routes, races a handler
 * that answers asynchronously against server.requestTimeout, and writes the access line once the
 * response has gone out (or could not). Responses are built once with all their headers (Hono's
 * c.header() and mutating a finished Response both cost more than the routing itself).
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
    const requestId = requestIdFor(request.headers.get("x-request-id"));
    const env = new RequestEnv(request, conn, requestId, settings, draining, ctx.deadline);
    // the access log's peer, read before anything can wait (the getter keeps it)
    if (settings.accessLog) void env.peer;
    const path = pathOf(request.url);
    if (path === settings.healthEndpoint) return health(env, ctx);
    if (path === settings.metricsPath) return scrape(env, ctx);
    const counted = settings.metricsPath !== undefined;
    // probes are neither access-logged nor counted: readiness, and haproxy's default check (OPTIONS /)
    const timed = (settings.accessLog || counted) && path !== "/ready" && !(path === "/" && request.method === "OPTIONS");
    const started = timed ? performance.now() : 0;
    const response = tooLarge(env) ?? stamped(env, withTimeout(env, conn, routes.fetch(request, env)));
    if (!timed) return response;
    if (!settings.accessLog) {
      // counted without the access log, no closure or listener per request: an answer that comes
      // after the client has gone (its signal aborted) is code 0; a quick one is taken as sent
      if (!(response instanceof Promise)) return count(ctx.metrics.requests, env, response, started, true);
      return response.then((r) => count(ctx.metrics.requests, env, r, started, !request.signal.aborted));
    }
    if (!(response instanceof Promise)) return logged(ctx, env, response, started, false);
    return response.then((r) => logged(ctx, env, r, started, true));
  };
}

/**
 * Writes the access line (and counts the request) once the response has gone out, where the
 * runtime tells (Node); on Bun, judged by what the request shows: a peer already unknown on
 * arrival, or a client gone before a `later` answer (its signal aborted; not asked on the quick
 * path: it costs). Functions, not closures made per request: the line is the hot path's largest part.
 */
function logged(ctx: AppContext, env: RequestEnv, response: Response, started: number, later: boolean): Response {
  if (env.conn.settled) env.conn.settled(env.request, (sent) => access(ctx, env, response, started, sent));
  else access(ctx, env, response, started, env.peer !== undefined && !(later && env.request.signal.aborted));
  return response;
}

/** The access line, and the request counted with the same clock read and verdict on "sent". */
function access(ctx: AppContext, env: RequestEnv, response: Response, started: number, sent: boolean): void {
  const ms = performance.now() - started;
  const request = env.request;
  const settings = env.settings;
  // 0: the connection closed before the response went out (the handler did run)
  const status = sent ? response.status : 0;
  const bytes = sent ? env.bytes : 0;
  if (settings.metricsPath !== undefined) ctx.metrics.requests.record(request.method, status, bytes, ms);
  const url = request.url;
  const client = clientInfo(env.peer, request.headers, settings.trusted, schemeOf(url));
  ctx.access({
    requestId: env.requestId,
    method: request.method,
    path: redactedTarget(url),
    status,
    durationMs: Math.round(ms * 100) / 100,
    bytes,
    ip: client.ip,
    scheme: client.scheme,
    userAgent: request.headers.get("user-agent"),
    traceId: env.trace?.traceId,
  });
}

/** Counts a request answered without the access log; `sent` false counts it as code 0. */
function count(requests: RequestMetrics, env: RequestEnv, response: Response, started: number, sent: boolean): Response {
  requests.record(env.request.method, sent ? response.status : 0, sent ? env.bytes : 0, performance.now() - started);
  return response;
}

/**
 * The metrics endpoint (metrics.path): GET and HEAD get the exposition in the format the scrape's
 * Accept asks for; other methods a JSON 405. Like the probes, not access-logged and not counted.
 */
function scrape(env: RequestEnv, ctx: AppContext): Response {
  const method = env.request.method;
  if (method !== "GET" && method !== "HEAD") {
    return send(env, JSON.stringify({ error: "method not allowed", status: 405, requestId: env.requestId }), 405, false, { allow: "GET, HEAD" });
  }
  const { contentType, body } = ctx.metrics.scrape(env.request.headers.get("accept"));
  // HEAD: the runtime sends the headers (Content-Length included) without the body
  return send(env, body, 200, false, { "content-type": contentType });
}

/** A JSON 413 for a declared body over server.bodyLimit; the connection closes after it. */
function tooLarge(env: RequestEnv): Response | undefined {
  const declared = env.request.headers.get("content-length");
  if (declared === null || !(Number(declared) > env.settings.bodyLimit)) return undefined;
  // the body is not read, so the connection cannot carry another request after it
  return json(env, { error: "request body too large", status: 413, limit: env.settings.bodyLimit, requestId: env.requestId }, 413, true);
}

/**
 * A handler that answers later races server.requestTimeout: past it, the client gets a JSON 503
 * with the request id and the handler's signal aborts (its own answer, whenever it comes, is
 * dropped). Synchronous answers pay nothing.
 */
function withTimeout(env: RequestEnv, conn: ConnEnv, response: Response | Promise<Response>): Response | Promise<Response> {
  if (!(response instanceof Promise)) return response;
  conn.awaiting?.(env.request, env.settings.requestTimeoutMs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<Response>((resolve) => {
    timer = setTimeout(() => {
      const answer = json(env, { error: "request timeout", status: 503, requestId: env.requestId }, 503);
      env.timedOut();
      resolve(answer);
    }, env.settings.requestTimeoutMs);
  });
  // A handler that fails after it was given up on must not become an unhandled rejection.
  response.catch(() => {});
  return Promise.race([response.finally(() => clearTimeout(timer)), late]);
}

/**
 * A response rodent's send() did not build (an application route's) gets the request id, and
 * Connection: close while draining.
 */
function stamped(env: RequestEnv, response: Response | Promise<Response>): Response | Promise<Response> {
  if (response instanceof Promise) return response.then((r) => (env.bytes === null ? stamp(env, r) : r));
  return env.bytes === null ? stamp(env, response) : response;
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

  const ready = (c: Context<Env>): Response | Promise<Response> => {
    const state = ctx.state();
    const failing = state === "ready" ? ctx.notReady() : undefined;
    if (!failing) return json(c.env, { status: state === "ready" ? "ready" : "not ready", state }, state === "ready" ? 200 : 503);
    return failing.then((list) =>
      list.length === 0 ? json(c.env, { status: "ready", state }, 200) : json(c.env, { status: "not ready", state, failing: list }, 503),
    );
  };
  app.get("/ready", ready);
  // A bare `option httpchk` (haproxy's own default check) sends OPTIONS / HTTP/1.0: answer it as
  // readiness, so the upstream is UP when ready and DOWN while it drains.
  app.options("/", ready);

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

function json(env: RequestEnv, body: unknown, status = 200, close = false): Response {
  return send(env, JSON.stringify(body), status, close);
}

/**
 * A JSON response (or `more` overrides the type) with the headers rodent adds, its size noted for
 * the access log. Content-Length is left to the runtime: Bun and @hono/node-server both send it for
 * a string body (HEAD included), and naming it here cost ~1 300 instructions per request.
 */
function send(env: RequestEnv, text: string, status: number, close = false, more?: Record<string, string>): Response {
  const bytes = Buffer.byteLength(text);
  // a handler answering after its 503 went out must not change what the access line reports
  if (!env.over) env.bytes = bytes;
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": env.requestId };
  // While draining, tell keep-alive clients (and proxies) not to reuse this connection.
  if (close || env.draining()) headers.connection = "close";
  if (more) Object.assign(headers, more);
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
