// The public shape of a plugin: what application code writes, and what rodent hands it. Every
// field says when it runs, in what order, and what happens at the shutdown deadline.
import type { Hono } from "hono";
import type * as v from "valibot";
import type { TraceContext } from "../http/trace";

export type { TraceContext };

/**
 * A part of an application: a name, an optional config section, and a start function. Plugins
 * start in the order the app lists them and close in the reverse order, after the HTTP drain.
 */
export interface Plugin<S extends v.GenericSchema = v.GenericSchema> {
  /** Lower-case, [a-z][a-z0-9-]*: the log tag, the config section's key, the env infix. */
  readonly name: string;
  /**
   * The plugin's own config section: a valibot object schema, read from the top-level key `name`
   * in the config file and from `<APP>_<PLUGIN>_<KEY>` in the environment, validated and reloaded
   * with rodent's own sections (all of them swap, or none).
   */
  readonly section?: {
    readonly schema: S;
    /**
     * Keys of the section that need a restart to change (e.g. a database path opened at start).
     * A reload keeps their running values, lists them as taking effect on the next restart (as it
     * does rodent's own server.port), and hands reload hooks the kept value.
     */
    readonly restart?: readonly (keyof ConfigOf<S> & string)[];
  };
  /**
   * Runs once during start-up, before the instance is ready, after the plugins listed before it
   * started. Awaiting in it holds /ready at 503. A throw or rejection fails the start: one line
   * naming the plugin, exit 1, and everything acquired so far is released.
   */
  start(ctx: PluginContext<ConfigOf<S>>): void | Started<ConfigOf<S>> | Promise<void | Started<ConfigOf<S>>>;
}

/** The type of a section's value: the schema's output, or undefined for a plugin without one. */
export type ConfigOf<S extends v.GenericSchema> = v.InferOutput<S>;

/** What a plugin's start may return; every field is optional. */
export interface Started<C = unknown> {
  /**
   * A Hono app mounted behind rodent's front door once every plugin has started: request ids,
   * the access log, proxy trust, body limit, request timeout, Connection: close while draining,
   * and the drain. A request that arrives while plugins still start waits for them (at most
   * server.requestTimeout). c.env holds the runtime's own bindings (getConnInfo works) and
   * RequestBindings.
   */
  routes?: Hono<any, any, any>;
  /**
   * A readiness check ANDed into /ready while the instance is ready: a throw, a rejection, false,
   * or no answer within 1 s makes /ready answer 503 with the plugin's name and the reason.
   */
  ready?(): boolean | void | Promise<boolean | void>;
  /**
   * Called on every reload once every section validated, plugins in start order, with this
   * plugin's next and previous section. A throw rejects the whole reload: the hooks that already
   * ran are called again with (previous, next), and every section keeps its old value.
   */
  reload?(next: C, previous: C): void | Promise<void>;
}

/** What start receives. Valid for the life of the instance. */
export interface PluginContext<C = unknown> {
  /** The plugin's scope: its cleanups run after the HTTP drain, when this plugin's turn comes. */
  readonly scope: PluginScope;
  /**
   * Aborted when this plugin's turn to close comes: after the HTTP drain and after the plugins
   * listed after it closed; not at the first SIGTERM, so what serves the routes outlives the drain.
   */
  readonly signal: AbortSignal;
  /**
   * Starts a background worker at once. At the plugin's turn its signal is aborted and it is
   * awaited before the plugin's cleanups, within the shutdown deadline (named if it overruns).
   * A worker that throws before the shutdown began starts a graceful shutdown that exits 1 and
   * logs the worker's name and error. A worker may also end normally.
   */
  run(name: string, worker: (signal: AbortSignal) => Promise<void>): void;
  /**
   * The plugin's section as the schema outputs it; replaced whole on reload, never mutated. Inside
   * a reload hook it still returns the previous section (the swap happens once every hook agreed):
   * use the hook's `next` argument there.
   */
  config(): C;
  /** A logger tagged with the plugin's name, in the instance's format and level. */
  readonly log: PluginLog;
  /** Turns /ready to 503 with this reason until markReady() (e.g. a lost upstream). */
  markNotReady(reason: string): void;
  /** Undoes markNotReady. */
  markReady(): void;
  /**
   * The application this plugin runs in. `development` is true under `serve --dev` (or
   * development.enabled): a plugin may then offer test-only behaviour. It needs a restart to
   * change, so it holds for the life of the instance.
   */
  readonly app: { readonly name: string; readonly version: string; readonly development: boolean };
  /** A read-only view of the running instance, for diagnostics routes. */
  readonly instance: InstanceView;
  /** Registers this plugin's Prometheus metrics, scraped on the instance's metrics endpoint. */
  readonly metrics: PluginMetrics;
}

/**
 * Where a plugin registers counters, gauges and histograms. Each belongs to this instance alone
 * (no global registry) and lives as long as it; a reload keeps its values. Registering throws,
 * failing the start with one line naming the plugin and the metric, for a name that is not
 * Prometheus' [a-zA-Z_][a-zA-Z0-9_]* (colons are for recording rules), that another metric of the
 * instance already exposes, or that starts with rodent_ or process_ (rodent's own).
 */
export interface PluginMetrics {
  /** A counter; its name ends in `_total`. */
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L>;
  /** A gauge: a value that goes up and down. */
  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L>;
  /** A histogram; `buckets` (upper bounds, increasing) default to rodent's request-duration buckets. */
  histogram<L extends string = never>(options: MetricOptions<L> & { readonly buckets?: readonly number[] }): Histogram<L>;
}

/** What every metric is registered with. */
export interface MetricOptions<L extends string> {
  /** The metric's name, in base units (`_seconds`, `_bytes`); a counter's ends in `_total`. */
  readonly name: string;
  /** One line saying what it counts; shown as its # HELP. */
  readonly help: string;
  /**
   * The label names ([a-zA-Z_][a-zA-Z0-9_]*, not __-prefixed; not `le` on a histogram). Every
   * distinct combination of values is a series of its own: keep values to a small, bounded set
   * (a status, a kind; never an id or a path). Past 1000 series a metric drops new combinations
   * and the plugin's log says so once.
   */
  readonly labelNames?: readonly L[];
}

/** The arguments of an update: the value alone without labels, else the label values first. */
export type Update<L extends string, V extends "optional" | "required"> = [L] extends [never]
  ? V extends "optional" ? [value?: number] : [value: number]
  : V extends "optional" ? [labels: Record<L, string>, value?: number] : [labels: Record<L, string>, value: number];

/** A value that only goes up (a count of events); Prometheus' rate() reads it. */
export interface Counter<L extends string = never> {
  /** Adds `value` (default 1; finite and not negative, else it throws) to the series of `labels`. */
  inc(...args: Update<L, "optional">): void;
}

/** A value that goes up and down (a queue's depth, a pool's size). */
export interface Gauge<L extends string = never> {
  /** Sets the series of `labels` to `value`. */
  set(...args: Update<L, "required">): void;
  /** Adds `value` (default 1). */
  inc(...args: Update<L, "optional">): void;
  /** Subtracts `value` (default 1). */
  dec(...args: Update<L, "optional">): void;
}

/** Observations counted into buckets, with their sum and count (durations, sizes). */
export interface Histogram<L extends string = never> {
  /** Counts one observation of `value` (e.g. seconds) in the series of `labels`; NaN throws. */
  observe(...args: Update<L, "required">): void;
}

export interface PluginScope {
  /**
   * Registers a cleanup; cleanups run last-registered-first at the plugin's turn, after its
   * workers ended, each given the milliseconds left before the shutdown deadline. One that throws
   * or overruns is logged with its name and the rest still run. Deferred after the close, it
   * runs at once.
   */
  defer(name: string, cleanup: (ctx: { timeLeftMs: number; reason: unknown }) => void | Promise<void>): void;
  /** The same signal as the context's: aborted at the plugin's turn to close. */
  readonly signal: AbortSignal;
}

export interface PluginLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

/** The running instance as diagnostics see it; every call reads the live value. */
export interface InstanceView {
  /** starting, ready, reloading, draining or stopped. */
  state(): string;
  uptimeMs(): number;
  /** Requests being handled right now. */
  inFlight(): number;
  /** The scope tree: names and the cleanups still pending. */
  scopes(): unknown;
  /** The whole effective config (rodent's sections and every plugin's), with where each key came from. */
  config(): { hash: string; generation: number; file: string | null; values: Record<string, unknown>; origins: Record<string, string> };
}

/** What every route handler finds in c.env, beside the runtime's own bindings. */
export interface RequestBindings {
  /**
   * The request's id, echoed in the response: the client's X-Request-Id when it is 1–128 characters
   * safe in a log line, else a new one, `<16 hex digits drawn when the process started>-<counter>`.
   */
  readonly requestId: string;
  /**
   * Fires when the client goes away, when the request timeout passes, or 100 ms before the
   * shutdown deadline (so a handler that stops then still answers before the drain cuts it).
   */
  readonly signal: AbortSignal;
  /** The peer's address as the request arrived ("unix" on a unix socket), before proxy trust; undefined once unknown. */
  readonly peer: string | undefined;
  /** The client's address and scheme, believing forwarded headers only from server.trustProxy. */
  client(): { ip: string; scheme: string };
  /**
   * The caller's W3C trace context from a valid `traceparent` header (and its `tracestate`), to
   * continue the trace in what the handler calls; undefined without one or with an invalid one.
   * Parsed on first use; its traceId is in the request's access line.
   */
  readonly trace: TraceContext | undefined;
}

/** The Env type for a plugin's Hono app: `new Hono<RodentEnv>()`. */
export type RodentEnv = { Bindings: RequestBindings };

/** An application: what rodent(app) runs. */
export interface App {
  /** Lower-case, [a-z][a-z0-9-]*: the binary's name in help, paths, the environment prefix. */
  readonly name: string;
  /** Shown by `<name> version` beside the rodent version; default: the one build.ts embedded. */
  readonly version?: string;
  /** Started in this order, closed in reverse, after the HTTP drain. */
  readonly plugins: readonly Plugin<any>[];
}
