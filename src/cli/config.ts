// `rodent config print|check|init`: show the effective config and its sources, validate like
// `nginx -t` (including the listen address), and write a commented starting file.
import { closeSync, constants, lstatSync, openSync, renameSync, rmSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError, loadConfig, type ConfigInput, type LoadedConfig } from "../config/load";
import { leaves, type Sections } from "../config/schema";
import { UsageError, RodentError } from "../errors";
import { inspectPidFile } from "../instance/lock";
import { resolvePidPath } from "../instance/paths";
import { readStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import type { Command } from "./command";
import { configFlags, configInput } from "./config-flags";
import { defaultConfigFile } from "./config-template";
import { program } from "../program";

export const config: Command = {
  name: "config",
  summary: "Print, check or create the configuration (print | check | init [PATH]).",
  args: "print|check|init [PATH]",
  flags: {
    ...configFlags,
    json: { type: "boolean", description: "print: as JSON" },
    force: { type: "boolean", description: "init: overwrite an existing file" },
  },
  async run({ flags, positionals, app }) {
    const [action, ...rest] = positionals;
    const input = configInput(flags, app);
    if (action === "print") return print(input, flags);
    if (action === "check") return check(input, flags);
    if (action === "init") return init(rest[0], Boolean(flags.force), input.sections);
    throw new UsageError(action ? `config: unknown action '${action}'` : "config: which action? print, check or init", `run '${program().name} config --help' for usage`);
  },
};

async function print(input: ConfigInput, flags: Record<string, unknown>): Promise<number> {
  const loaded = await loadConfig(input);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ file: loaded.file ?? null, hash: loaded.hash, config: loaded.config, origins: Object.fromEntries(loaded.origins) }, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [`# config ${loaded.hash} from ${loaded.file ?? "built-in defaults"}`];
  for (const { key, value } of leaves(loaded.config, input.sections)) {
    lines.push(`${key}: ${value === undefined ? "(unset)" : JSON.stringify(value)}  # ${loaded.origins.get(key)}`);
  }
  for (const w of loaded.warnings) lines.push(`# warning: ${w.source}: ${w.key}: ${w.message}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

async function check(input: ConfigInput, flags: Record<string, unknown>): Promise<number> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(input, { strict: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return EXIT.failure;
  }
  const problem = await tryListen(loaded, flags["pid-file"] as string | undefined);
  if (problem) {
    process.stderr.write(`configuration is valid but cannot be served: ${problem}\n`);
    return EXIT.failure;
  }
  process.stdout.write(`configuration OK: ${loaded.file ?? "built-in defaults"} (config ${loaded.hash})\n`);
  return EXIT.ok;
}

/** Binds the configured address for a moment; a port held by our own running instance is fine. */
async function tryListen(loaded: LoadedConfig, pidFlag: string | undefined): Promise<string | undefined> {
  const { host, port, socket } = loaded.config.server;
  if (socket || port === 0) return undefined;
  const { createServer } = await import("node:net");
  const error = await new Promise<NodeJS.ErrnoException | undefined>((done) => {
    const server = createServer();
    server.once("error", (e) => done(e as NodeJS.ErrnoException));
    server.listen({ host, port, exclusive: true }, () => server.close(() => done(undefined)));
  });
  if (!error) return undefined;
  if (error.code === "EADDRINUSE") {
    const pidPath = resolvePidPath(loaded.config.server.pidFile, process.env);
    const seen = inspectPidFile(pidPath);
    const record = readStatus(pidPath);
    if (seen.kind === "held" && record?.pid === seen.holder.pid && record.address.endsWith(`:${port}`)) return undefined;
    return `port ${port} on ${host} is in use by another program: stop it or choose another server.port`;
  }
  if (error.code === "EADDRNOTAVAIL") return `address ${host} is not available on this machine: use 127.0.0.1, or 0.0.0.0 for all interfaces`;
  if (error.code === "EACCES") return `port ${port} needs root or CAP_NET_BIND_SERVICE: choose a port above 1023`;
  return `cannot listen on ${host}:${port}: ${error.message}`;
}

/**
 * Writes the default file without following a symlink at `path`: a new file is created with
 * O_EXCL|O_NOFOLLOW; --force writes a temp file beside it and renames it over, which replaces the
 * directory entry itself, never a symlink's target.
 */
async function init(target: string | undefined, force: boolean, sections: Sections | undefined): Promise<number> {
  const path = resolve(target ?? `${program().name}.yml`);
  const text = await defaultConfigFile(sections);
  const existing = lstatOrUndefined(path);
  if (existing?.isSymbolicLink()) throw new RodentError(`${path} is a symlink; 'config init' never writes through one: remove it or name another path`);
  if (existing && !force) throw new RodentError(`${path} already exists; use --force to overwrite it`);
  if (existing && !existing.isFile()) throw new RodentError(`${path} is not a regular file; name a file path`);
  if (existing) {
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    createExclusive(temp, text, path);
    try {
      renameSync(temp, path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw new RodentError(`cannot replace ${path} (${(error as NodeJS.ErrnoException).code}): choose another path`);
    }
  } else {
    createExclusive(path, text, path);
  }
  process.stdout.write(`wrote ${path}; check it with '${program().name} config check -c ${path}'\n`);
  return EXIT.ok;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined; // absent, or unreachable: the create below names the reason
  }
}

/** Creates `file` with O_EXCL|O_NOFOLLOW and writes `text`; a failure removes what it created. */
function createExclusive(file: string, text: string, named: string): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // created meanwhile by someone else: refuse as if it had been there
    if (code === "EEXIST" || code === "ELOOP") throw new RodentError(`${named} appeared while writing it; check what is there and run 'config init' again`);
    throw new RodentError(`cannot write ${named} (${code}): choose another path`);
  }
  try {
    writeSync(fd, text);
  } catch (error) {
    rmSync(file, { force: true });
    throw new RodentError(`cannot write ${named} (${(error as NodeJS.ErrnoException).code}): choose another path`);
  } finally {
    closeSync(fd);
  }
}
