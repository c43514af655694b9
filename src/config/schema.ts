// The config's shape, defaults and types: the single source of truth for file, env, flags and docs.
import * as v from "valibot";
import { parseTrustEntry } from "../http/trust";
import { formatDuration } from "./duration";
import { DURATION, duration as durationSchema } from "./duration-schema";

/**
 * The range each duration key accepts, inclusive. Below the minimum a timer spins (a 0s heartbeat
 * rewrote the status record ~600 times a second) or a drain cannot start; above the maximum a
 * typo hides (and Bun's idleTimeout stops at 255 s). The README's config table lists the same.
 */
export const DURATION_BOUNDS = {
  "server.shutdownTimeout": ["100ms", "1h"],
  "server.shutdownDelay": ["0s", "255s"],
  "server.idleTimeout": ["1s", "255s"],
  "server.requestTimeout": ["1s", "1h"],
  "health.interval": ["1s", "1h"],
} as const;

/** A duration key of rodent's own, with the bounds listed above. */
const duration = (key: keyof typeof DURATION_BOUNDS) => {
  const [min, max] = DURATION_BOUNDS[key];
  return durationSchema({ min, max });
};

const port = v.pipe(
  v.number("expected a port number"),
  v.integer("expected a whole number"),
  v.minValue(0, "expected a port from 1 to 65535 (0 picks a free one)"),
  v.maxValue(65535, "expected a port from 1 to 65535"),
);

/**
 * A trustProxy entry, checked by the very parser that compiles it (http/trust.ts), so whatever
 * `config check` accepts, serve and reload can compile. The value stays the text the user wrote:
 * the config prints, hashes, compares and clones (reload) as plain data.
 */
const trustEntry = v.pipe(
  v.string("expected an IP address or CIDR like 10.0.0.0/8"),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const range = parseTrustEntry(dataset.value);
    if (typeof range === "string") addIssue({ message: `expected an IP address or CIDR like 10.0.0.0/8: ${range}` });
  }),
);

const logLevels = ["silent", "fatal", "error", "warn", "info", "debug", "trace"] as const;

export const ConfigSchema = v.object({
  environment: v.optional(v.string("expected a name like production"), "production"),
  server: v.optional(
    v.object({
      host: v.optional(v.pipe(v.string("expected a host address"), v.minLength(1, "expected a host address")), "127.0.0.1"),
      port: v.optional(port, 8042),
      socket: v.optional(v.pipe(v.string("expected a socket path"), v.minLength(1, "expected a socket path"))),
      socketMode: v.optional(v.pipe(v.string("expected an octal mode in quotes, like '0660'"), v.regex(/^0?[0-7]{3}$/, "expected an octal mode like 0660")), "0660"),
      pidFile: v.optional(v.pipe(v.string("expected a file path"), v.minLength(1, "expected a file path"))),
      logLevel: v.optional(v.picklist(logLevels, `expected one of ${logLevels.join(", ")}`), "info"),
      shutdownTimeout: v.optional(duration("server.shutdownTimeout"), "30s"),
      shutdownDelay: v.optional(duration("server.shutdownDelay"), "0s"),
      idleTimeout: v.optional(duration("server.idleTimeout"), "75s"),
      requestTimeout: v.optional(duration("server.requestTimeout"), "60s"),
      bodyLimit: v.optional(
        v.pipe(v.number("expected a size in bytes"), v.integer("expected a whole number"), v.minValue(0, "expected a size from 0 to 2147483648 bytes"), v.maxValue(2 ** 31, "expected a size from 0 to 2147483648 bytes")),
        1_048_576,
      ),
      trustProxy: v.optional(
        v.array(trustEntry, "expected a list of IP addresses or CIDRs"),
        ["127.0.0.0/8", "::1"],
      ),
      daemonize: v.optional(v.boolean("expected true or false"), false),
    }),
    {},
  ),
  health: v.optional(
    v.object({
      endpoint: v.optional(v.pipe(v.string("expected a path starting with /"), v.regex(/^\/[^\s?#]*$/, "expected a path starting with /")), "/health"),
      interval: v.optional(duration("health.interval"), "30s"),
    }),
    {},
  ),
  logs: v.optional(
    v.object({
      path: v.optional(v.pipe(v.string("expected a file path"), v.minLength(1, "expected a file path"))),
      output: v.optional(v.picklist(["stdout", "file"], "expected stdout or file"), "stdout"),
      format: v.optional(v.picklist(["pretty", "json"], "expected pretty or json")),
      access: v.optional(v.boolean("expected true or false"), true),
    }),
    {},
  ),
  metrics: v.optional(
    v.object({
      enabled: v.optional(v.boolean("expected true or false"), true),
      path: v.optional(v.pipe(v.string("expected a path starting with /"), v.regex(/^\/[^\s?#]*$/, "expected a path starting with /")), "/metrics"),
    }),
    {},
  ),
  development: v.optional(
    v.object({
      enabled: v.optional(v.boolean("expected true or false"), false),
    }),
    {},
  ),
});

export type Config = v.InferOutput<typeof ConfigSchema>;

/** Paths rodent answers itself besides the health endpoint; the metrics endpoint cannot take one. */
const OWN_PATHS = ["/ready", "/api/v1/rodent/version", "/debug"];

/**
 * Why `metrics.path` cannot serve the scrape, or undefined: it would shadow the health endpoint
 * or one of rodent's own routes (the /debug routes and OPTIONS / included), which answer probes and operators.
 */
export function metricsPathClash(config: Pick<Config, "metrics" | "health">): string | undefined {
  const path = config.metrics.path;
  if (path === config.health.endpoint) return `expected a path other than health.endpoint's (${path})`;
  // OPTIONS / is haproxy's default check, answered as readiness: a scrape path there would 405 it
  if (path === "/") return "expected a path other than / (OPTIONS / answers haproxy's default health check)";
  const own = OWN_PATHS.find((p) => path === p || path.startsWith(`${p}/`));
  return own ? `expected a path other than rodent's own ${own === "/debug" ? "/debug routes" : own}` : undefined;
}

/**
 * Why `health.endpoint` cannot be where it is, or undefined: on `/` it would answer haproxy's
 * default check (OPTIONS /) as liveness, 200 while draining; on one of rodent's own routes it would
 * shadow it (on /ready, the readiness probe would no longer see the drain).
 */
export function healthEndpointClash(config: Pick<Config, "health">): string | undefined {
  const path = config.health.endpoint;
  if (path === "/") return "expected a path other than / (OPTIONS / answers haproxy's default check as readiness)";
  const own = OWN_PATHS.find((p) => path === p || path.startsWith(`${p}/`));
  return own ? `expected a path other than rodent's own ${own === "/debug" ? "/debug routes" : own}` : undefined;
}

/** Checks across sections, each reported on the key to change. */
function crossChecked<T extends v.GenericSchema<unknown, Pick<Config, "metrics" | "health">>>(schema: T) {
  return v.pipe(
    schema,
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const health = healthEndpointClash(dataset.value);
      if (health) addIssue({ message: health, input: dataset.value.health.endpoint, path: [pathItem(dataset.value, "health"), pathItem(dataset.value.health, "endpoint")] as never });
      const clash = metricsPathClash(dataset.value);
      if (clash) addIssue({ message: clash, input: dataset.value.metrics.path, path: [pathItem(dataset.value, "metrics"), pathItem(dataset.value.metrics, "path")] as never });
    }),
  );
}

/** A valibot issue path item, so the issue is reported on that key (file line, env, flag). */
function pathItem(input: object, key: string) {
  return { type: "object", origin: "value", input, key, value: (input as Record<string, unknown>)[key] };
}

/** An app's plugin sections: top-level key → the plugin's valibot object schema. */
export type Sections = Record<string, v.GenericSchema>;

/**
 * rodent's schema with the app's plugin sections beside its own; a missing section is validated
 * as an empty one, so its defaults apply and its required keys are reported.
 */
export function configSchema(sections: Sections = {}): v.GenericSchema {
  if (Object.keys(sections).length === 0) return checkedOwn;
  const extra = Object.fromEntries(Object.entries(sections).map(([name, schema]) => [name, v.optional(schema, {})]));
  return crossChecked(v.object({ ...ConfigSchema.entries, ...extra }) as unknown as v.GenericSchema<unknown, Config>);
}

const checkedOwn = crossChecked(ConfigSchema);

/** rodent's own top-level sections: names a plugin cannot take. */
export const OWN_SECTIONS = Object.keys(ConfigSchema.entries);

/** Keys whose change needs a restart; everything else applies live on reload. */
// idleTimeout and bodyLimit are options of the listener itself (Bun.serve, node:http), fixed when it binds.
export const RESTART_KEYS = [
  "server.host", "server.port", "server.socket", "server.socketMode", "server.pidFile", "server.daemonize",
  "server.idleTimeout", "server.bodyLimit", "logs.output", "logs.path",
  // the /debug routes are a plugin, mounted at start-up or not at all
  "development.enabled",
];

export type LeafKind = "string" | "number" | "boolean" | "array" | "duration";

/**
 * Every leaf key of the schema with its kind, e.g. ["server.port", "number"]. Env variables and
 * unknown-key checks are derived from this, so they cannot drift from the schema.
 */
export function leafKeys(schema: v.GenericSchema = ConfigSchema, prefix = ""): Map<string, LeafKind> {
  const out = new Map<string, LeafKind>();
  const entries = (unwrap(schema) as { entries?: Record<string, v.GenericSchema> }).entries ?? {};
  for (const [key, child] of Object.entries(entries)) {
    const inner = unwrap(child) as v.GenericSchema & { type: string };
    const path = prefix + key;
    if (inner.type === "object") {
      for (const [k, kind] of leafKeys(inner, `${path}.`)) out.set(k, kind);
    } else if (isDuration(child)) {
      out.set(path, "duration");
    } else {
      out.set(path, inner.type === "picklist" ? "string" : (inner.type as LeafKind));
    }
  }
  return out;
}

/** One leaf of a validated config: its key path, section and name, and its value as an operator writes it. */
export interface Leaf {
  key: string;
  section: string;
  name: string | undefined;
  /** Durations back in the form they are written in ("30s"); undefined when unset. */
  value: unknown;
}

/** Every leaf of `config` (rodent's sections, then `sections`), in schema order. */
export function leaves(config: object, sections?: Sections): Leaf[] {
  const values = config as Record<string, Record<string, unknown> | undefined>;
  return [...leafKeys(configSchema(sections))].map(([key, kind]) => {
    const [section, name] = key.split(".") as [string, string | undefined];
    const value = name === undefined ? values[section] : values[section]?.[name];
    return { key, section, name, value: kind === "duration" && typeof value === "number" ? formatDuration(value) : value };
  });
}

function isDuration(schema: v.GenericSchema): boolean {
  let s = schema as v.GenericSchema & { wrapped?: v.GenericSchema; pipe?: Array<{ type: string; metadata?: unknown }> };
  while (s.wrapped) s = s.wrapped as typeof s;
  return s.pipe?.some((item) => item.type === "metadata" && item.metadata === DURATION) ?? false;
}

function unwrap(schema: v.GenericSchema): v.GenericSchema {
  let s = schema as v.GenericSchema & { wrapped?: v.GenericSchema; pipe?: v.GenericSchema[] };
  for (;;) {
    if (s.wrapped) s = s.wrapped as typeof s;
    else if (s.pipe && s.pipe[0] && s.pipe[0] !== s) s = s.pipe[0] as typeof s;
    else return s;
  }
}
