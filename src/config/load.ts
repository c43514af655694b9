// Builds one validated config from defaults < file < environment < flags, remembering where each
// value came from, and reports every problem at once with its source and key path.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import * as v from "valibot";
import { RodentError } from "../errors";
import { envPrefix, pidPathVariable, program } from "../program";
import { readConfigFile } from "./file";
import { checkConfigOwner } from "./owner";
import { parseSimpleYaml } from "./yaml-simple";
import { configSchema, leafKeys, type Config, type LeafKind, type Sections } from "./schema";

export type Layer = Record<string, unknown>;

export interface ConfigInput {
  /** `--config`/`-c`, if given. */
  file?: string;
  /** Which unnamed files may be read: see `locateConfigFile`. Default "serve". */
  discovery?: Discovery;
  /** The process environment, read once at start-up. */
  env: Record<string, string | undefined>;
  /** Flag values by key path, e.g. {"server.port": 9000}. */
  flags: Record<string, unknown>;
  /** The app's plugin sections (top-level key → schema), validated with rodent's own. */
  sections?: Sections;
  /** The plugins' keys that need a restart ("store.database"), beside rodent's RESTART_KEYS. */
  restartKeys?: readonly string[];
}

export interface Problem {
  source: string;
  key: string;
  message: string;
}

export interface LoadedConfig {
  config: Config;
  /** Key path → where its value came from: "default", "file rodent.yml:3", "env RODENT_SERVER_PORT", "flag --port". */
  origins: Map<string, string>;
  /** The file read, if any. */
  file: string | undefined;
  /** Unknown keys and other problems that do not stop start-up. */
  warnings: Problem[];
  /** A short hash of the effective config, so an operator can tell which one is live. */
  hash: string;
}

/** Every problem found, each naming its source and key; one problem reads as one line. */
export class ConfigError extends RodentError {
  constructor(readonly problems: Problem[]) {
    const lines = problems.map((p) => `${p.source}: ${p.key}: ${p.message}`);
    super(
      lines.length === 1
        ? `invalid configuration: ${lines[0]}`
        : `invalid configuration (${lines.length} problems):\n  ${lines.join("\n  ")}`,
    );
  }
}

const FLAG_NAMES: Record<string, string> = {};

/** Registers the flag that sets a key, so problems can name it. */
export function nameFlag(key: string, flag: string): void {
  FLAG_NAMES[key] = flag;
}

/**
 * Where an unnamed config file may come from. "serve" (and `config`) also look in the working
 * directory (./<name>.yml); "control" (stop, status, reload, restart, logs, health) never does, so
 * the directory someone stands in cannot pick the instance they signal.
 */
export type Discovery = "serve" | "control";

/** The config file to read: explicit, else <NAME>_CONFIG, else the first of the usual places. */
export function locateConfigFile(explicit: string | undefined, env: ConfigInput["env"], discovery: Discovery = "serve"): { path?: string; explicit: boolean } {
  const named = explicit ?? env[`${envPrefix()}CONFIG`];
  if (named) return { path: resolve(named), explicit: true };
  const { name } = program();
  const fixed = [resolve(homedir(), `.${name}/${name}.yml`), `/etc/${name}/${name}.yml`];
  const candidates = discovery === "serve" ? [resolve(`${name}.yml`), ...fixed] : fixed;
  return { path: candidates.find((p) => existsSync(p)), explicit: false };
}

export interface LoadOptions {
  /** Unknown keys and env variables are problems, not warnings (`config check`). */
  strict?: boolean;
  /** What to say when the file named explicitly is not there (a reload says more than start-up can). */
  missingFile?: string;
}

const missingFile = () => `no such file; check --config / ${envPrefix()}CONFIG, or run '${program().name} config init'`;

/**
 * Loads, merges and validates. Throws ConfigError listing every problem (unknown keys count as
 * problems when `strict`, else they are returned as warnings).
 */
export async function loadConfig(input: ConfigInput, options: LoadOptions = {}): Promise<LoadedConfig> {
  const schema = configSchema(input.sections);
  const leaves = leafKeys(schema);
  const sections = new Set([...leaves.keys()].filter((k) => k.includes(".")).map((k) => k.split(".")[0]!));
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const origins = new Map<string, string>();
  const merged: Layer = {};

  const { path: located, explicit } = locateConfigFile(input.file, input.env, input.discovery);
  let file: string | undefined;
  if (located) {
    const read = readConfigFile(located);
    // another user's file is refused before it is used: it could name any PID file or log path.
    // Judged on the descriptor it was read from: a symlink flipped after a stat cannot slip it in.
    if (!("problem" in read) && read.ownerUid !== undefined) checkConfigOwner(located, read.ownerUid);
    if ("problem" in read) {
      // a discovered file that vanished since it was found is as if there were none
      if (!read.missing || explicit) {
        const problem = read.missing ? { ...read.problem, message: options.missingFile ?? missingFile() } : read.problem;
        throw new ConfigError([problem]);
      }
    } else {
      file = located;
      // the yaml package costs 5–11 ms of start-up: loaded only for a file the runtime's parser cannot vouch for
      const parsed = parseSimpleYaml(read.text) ?? (await import("./yaml")).parseYamlFile(read.text, file);
      if (parsed.problems.length > 0) throw new ConfigError(parsed.problems);
      const layer = parsed.value;
      if (layer !== null && (typeof layer !== "object" || Array.isArray(layer))) {
        throw new ConfigError([{ source: file, key: "(document)", message: "expected a mapping of sections (server:, logs:, …)" }]);
      }
      for (const [key, value] of flatten((layer ?? {}) as Layer)) {
        const line = parsed.lineOf(key);
        const source = `file ${file}${line ? `:${line}` : ""}`;
        if (!leaves.has(key) && !sections.has(key)) {
          (options.strict ? problems : warnings).push({ source, key, message: `unknown key${suggest(key, leaves)}` });
          continue;
        }
        setPath(merged, key, value);
        origins.set(key, source);
      }
    }
  }

  const prefix = envPrefix();
  for (const [name, raw] of Object.entries(input.env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    if (name === `${prefix}CONFIG` || name === pidPathVariable() || name.startsWith("RODENT_INTERNAL_")) continue;
    const key = envKey(name, leaves);
    const source = `env ${name}`;
    if (!key) {
      (options.strict ? problems : warnings).push({ source, key: name, message: `not a ${program().name} setting` });
      continue;
    }
    setPath(merged, key, coerce(raw, leaves.get(key)!));
    origins.set(key, source);
  }

  // the PID file's own variable wins over <NAME>_SERVER_PIDFILE and the file: one value, one origin
  const pidPath = input.env[pidPathVariable()];
  if (pidPath !== undefined) {
    setPath(merged, "server.pidFile", pidPath);
    origins.set("server.pidFile", `env ${pidPathVariable()}`);
  }

  for (const [key, value] of Object.entries(input.flags)) {
    if (value === undefined) continue;
    setPath(merged, key, value);
    origins.set(key, `flag ${FLAG_NAMES[key] ?? key}`);
  }

  const result = v.safeParse(schema, merged, { abortEarly: false });
  if (!result.success) {
    for (const issue of result.issues) {
      const key = v.getDotPath(issue) ?? "(config)";
      const leaf = [...origins.keys()].find((k) => k === key || key.startsWith(`${k}.`));
      problems.push({
        source: leaf ? origins.get(leaf)! : "config",
        key,
        message: `${issue.message} (found ${describe(issue.input)})`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = result.output as Config;
  for (const key of leaves.keys()) if (!origins.has(key)) origins.set(key, "default");
  return { config, origins, file, warnings, hash: hashConfig(config) };
}

/** The env variable for a key: server.pidFile → RODENT_SERVER_PIDFILE; for app notes, jobs.every → NOTES_JOBS_EVERY. */
export function envName(key: string, prefix: string = envPrefix()): string {
  return `${prefix}${key.replaceAll(".", "_").replaceAll("-", "_").toUpperCase()}`;
}

function envKey(name: string, leaves: Map<string, LeafKind>): string | undefined {
  for (const key of leaves.keys()) if (envName(key) === name) return key;
  return undefined;
}

function coerce(raw: string, kind: LeafKind): unknown {
  const text = raw.trim();
  if (kind === "number") return text !== "" && Number.isFinite(Number(text)) ? Number(text) : raw;
  if (kind === "boolean") return text === "true" || text === "1" ? true : text === "false" || text === "0" ? false : raw;
  if (kind === "array") return text === "" ? [] : text.split(",").map((s) => s.trim());
  return raw;
}

function flatten(obj: Layer, prefix = ""): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, value] of Object.entries(obj)) {
    const key = prefix + k;
    // only a plain mapping is a section: a !!binary or !!set value is a value of the wrong type
    if (!prefix && value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) out.push(...flatten(value as Layer, `${key}.`));
    else out.push([key, value]);
  }
  return out;
}

function setPath(target: Layer, key: string, value: unknown): void {
  const parts = key.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
    node = node[part] as Layer;
  }
  node[parts.at(-1)!] = value;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value); // a BigInt or some other value JSON cannot show
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function suggest(key: string, leaves: Map<string, LeafKind>): string {
  const section = key.split(".")[0];
  const near = [...leaves.keys()].find((k) => k.split(".")[0] === section && distance(k, key) <= 2);
  return near ? `; did you mean ${near}?` : "";
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

export function hashConfig(config: Config): string {
  const text = JSON.stringify(config);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
