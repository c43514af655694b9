// The commented file `config init` writes: every key with its default, from the schema, rodent's
// sections first and then each plugin's.
import * as v from "valibot";
import { envName, loadConfig } from "../config/load";
import { DURATION_BOUNDS, leaves, type Sections } from "../config/schema";
import { envPrefix, program } from "../program";

const NOTES: Record<string, string> = {
  environment: "free-form name of this deployment (production, staging, ...)",
  "server.host": "address to listen on; 0.0.0.0 (or ::) listens on all interfaces",
  "server.port": "TCP port to listen on",
  "server.socket": "a unix socket path to listen on instead of host:port",
  "server.socketMode": "file mode of the unix socket",
  "server.pidFile": "PID file; default $XDG_RUNTIME_DIR/{name}/{name}.pid, ~/.{name}/{name}.pid, /run/{name}/{name}.pid as root",
  "server.logLevel": "silent, fatal, error, warn, info, debug or trace (changes live on reload)",
  "server.shutdownTimeout": "how long a graceful shutdown may take before it is forced",
  "server.shutdownDelay": "after SIGTERM, answer /ready with 503 this long before closing the listener",
  "server.idleTimeout": "close keep-alive connections idle this long (keep above nginx's keepalive_timeout)",
  "server.requestTimeout": "the longest a client may take to send a request, and a handler to answer it",
  "server.bodyLimit": "largest request body in bytes",
  "server.trustProxy": "peers whose X-Forwarded-For / X-Forwarded-Proto / Forwarded headers are believed",
  "server.daemonize": "run in the background as if -d were given",
  "health.endpoint": "path of the liveness endpoint",
  "health.interval": "how often the instance refreshes its status record",
  "logs.path": "log file when logs.output is file; default ~/.{name}/{name}.log, /var/log/{name}/{name}.log as root",
  "logs.output": "stdout or file",
  "logs.format": "pretty or json; default pretty on a terminal, json otherwise",
  "logs.access": "one access-log line per request (health and readiness probes are not logged)",
  "metrics.enabled": "answer Prometheus scrapes at metrics.path (changes live on reload)",
  "metrics.path": "path of the Prometheus metrics endpoint; not health.endpoint's, /ready, /api/v1/rodent/version or /debug",
  "development.enabled": "mount the /debug routes (never in production)",
};

export async function defaultConfigFile(sections: Sections = {}): Promise<string> {
  const { config } = await loadConfig({ file: "/dev/null", env: {}, flags: {} });
  const values = config as unknown as Record<string, Record<string, unknown>>;
  // a plugin's section may have required keys: those are written commented out, without a value
  for (const [name, schema] of Object.entries(sections)) values[name] = sectionDefaults(schema);
  const app = program().name;
  const out = [
    `# ${app} configuration. Precedence: defaults < this file < ${envPrefix()}* environment < flags.`,
    `# Reload with SIGHUP or '${app} reload'; the listener's keys (host, port, socket, idleTimeout, bodyLimit) and the PID file need a restart.`,
    "",
  ];
  let section = "";
  for (const { key, section: top, name, value } of leaves(values, sections)) {
    if (name !== undefined && top !== section) {
      out.push("", `${top}:`);
      section = top;
    }
    const indent = name === undefined ? "" : "  ";
    const bounds = DURATION_BOUNDS[key as keyof typeof DURATION_BOUNDS];
    out.push(`${indent}# ${NOTES[key]?.replaceAll("{name}", app) ?? key}${bounds ? `; from ${bounds[0]} to ${bounds[1]}` : ""} (env ${envName(key)})`);
    out.push(value === undefined ? `${indent}# ${name ?? top}:` : `${indent}${name ?? top}: ${JSON.stringify(value)}`);
  }
  return `${out.join("\n")}\n`;
}

function sectionDefaults(schema: v.GenericSchema): Record<string, unknown> {
  const parsed = v.safeParse(schema, {});
  if (parsed.success) return parsed.output as Record<string, unknown>;
  return (v.getDefaults(schema) ?? {}) as Record<string, unknown>;
}
