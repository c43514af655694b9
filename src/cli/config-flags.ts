// The flags that set config keys, shared by serve, config and health; each maps to one key.
import { parseDuration } from "../config/duration";
import { nameFlag, type ConfigInput } from "../config/load";
import { parsePort, type CliApp, type Flag } from "./command";

const LOG_LEVELS = ["silent", "fatal", "error", "warn", "info", "debug", "trace"];

const oneOf = (allowed: string[]) => (raw: string) => {
  if (!allowed.includes(raw)) throw new Error(`expected one of ${allowed.join(", ")}`);
  return raw;
};

const duration = (raw: string) => {
  if (parseDuration(raw) === undefined) throw new Error("expected a duration like 30s or 500ms");
  return raw;
};

/** flag name → [flag, config key]. */
const MAPPED: Record<string, [Flag, string]> = {
  host: [{ type: "string", value: "HOST", description: "address to listen on (default 127.0.0.1; 0.0.0.0 or :: for all interfaces)" }, "server.host"],
  port: [{ type: "string", short: "p", value: "PORT", description: "port to listen on (default 8042)", parse: parsePort }, "server.port"],
  socket: [{ type: "string", value: "PATH", description: "listen on a unix socket instead of host:port" }, "server.socket"],
  "log-level": [{ type: "string", value: "LEVEL", description: `log level: ${LOG_LEVELS.join(", ")}`, parse: oneOf(LOG_LEVELS) }, "server.logLevel"],
  "log-format": [{ type: "string", value: "FORMAT", description: "pretty or json (default: pretty on a terminal, json otherwise)", parse: oneOf(["pretty", "json"]) }, "logs.format"],
  "shutdown-timeout": [{ type: "string", value: "DURATION", description: "how long a graceful shutdown may take, e.g. 30s", parse: duration }, "server.shutdownTimeout"],
  dev: [{ type: "boolean", description: "development mode: mount the /debug routes" }, "development.enabled"],
};

for (const [name, [, key]] of Object.entries(MAPPED)) nameFlag(key, `--${name}`);

export const configFileFlag: Record<string, Flag> = {
  config: { type: "string", short: "c", value: "FILE", description: "config file (default: ./{name}.yml, ~/.{name}/{name}.yml, /etc/{name}/{name}.yml)" },
};

/** -c for the commands that talk to a running instance: no ./rodent.yml, see locateConfigFile. */
export const controlConfigFlag: Record<string, Flag> = {
  config: { type: "string", short: "c", value: "FILE", description: "config file whose server.pidFile names the instance (default: ~/.{name}/{name}.yml, /etc/{name}/{name}.yml; never ./{name}.yml)" },
};

export const pidFileFlag: Record<string, Flag> = {
  "pid-file": { type: "string", value: "PATH", description: "PID file (default: ${ENV}_PID_PATH, server.pidFile, then a per-user path)" },
};

export const logFileFlag: Record<string, Flag> = {
  "log-file": { type: "string", value: "PATH", description: "write logs to this file (implies logs.output: file)" },
};

export const configFlags: Record<string, Flag> = {
  ...configFileFlag,
  ...Object.fromEntries(Object.entries(MAPPED).map(([name, [flag]]) => [name, flag])),
  ...pidFileFlag,
  ...logFileFlag,
};

/**
 * The config input for parsed flags: the file flag, a snapshot of the environment, overrides, and
 * the app's plugin sections.
 */
export function configInput(flags: Record<string, unknown>, app?: CliApp): ConfigInput {
  const overrides: Record<string, unknown> = {};
  for (const [name, [, key]] of Object.entries(MAPPED)) {
    if (flags[name] !== undefined) overrides[key] = flags[name];
  }
  if (flags["log-file"] !== undefined) {
    overrides["logs.path"] = flags["log-file"];
    overrides["logs.output"] = "file";
  }
  if (flags["pid-file"] !== undefined) overrides["server.pidFile"] = flags["pid-file"];
  const plugins = app?.plugins ?? [];
  const sections = Object.fromEntries(plugins.flatMap((p) => (p.section ? [[p.name, p.section.schema]] : [])));
  const restartKeys = plugins.flatMap((p) => (p.section?.restart ?? []).map((key) => `${p.name}.${key}`));
  return { file: flags.config as string | undefined, env: { ...process.env }, flags: overrides, sections, restartKeys };
}
nameFlag("logs.path", "--log-file");
nameFlag("logs.output", "--log-file");
nameFlag("server.pidFile", "--pid-file");
