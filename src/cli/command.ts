// A command is a definition: name, summary, flags, run. Parsing and help text are generated from
// the same definition, so they cannot drift.
import { UsageError } from "../errors";
import type { Plugin } from "../plugin/types";
import { envPrefix, program } from "../program";

export interface Flag {
  type: "string" | "boolean";
  short?: string;
  /** The placeholder shown in help, e.g. "PORT". */
  value?: string;
  description: string;
  /** Validates and converts a string value; throws a message for a usage error. */
  parse?: (raw: string) => unknown;
  /** Allowed more than once. */
  multiple?: boolean;
}

export interface Parsed {
  flags: Record<string, unknown>;
  positionals: string[];
  /** The application the binary runs: its plugins (and so their config sections). */
  app: CliApp;
}

export interface CliApp {
  readonly plugins: readonly Plugin<any>[];
}

export interface Command {
  name: string;
  summary: string;
  /** Positional arguments as shown in help, e.g. "[print|check|init] [PATH]". */
  args?: string;
  flags: Record<string, Flag>;
  /** Extra help paragraphs. */
  details?: string;
  run(parsed: Parsed): Promise<number>;
}

/** Parses argv for `command`; unknown flags, missing values and bad values are UsageErrors. */
export function parseCommand(command: Command, argv: string[], app: CliApp): Parsed | "help" {
  const options: Record<string, FlagSyntax> = { help: { type: "boolean", short: "h" }, ...command.flags };
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(argv, options));
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message}`, `run '${program().name} ${command.name} --help' for usage`);
  }
  if (values.help) return "help";
  const flags: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(values)) {
    const flag = command.flags[name];
    if (!flag) continue;
    if (flag.parse && typeof raw === "string") {
      try {
        flags[name] = flag.parse(raw);
      } catch (error) {
        throw new UsageError(`${command.name}: --${name} ${JSON.stringify(raw)}: ${(error as Error).message}`, `run '${program().name} ${command.name} --help' for usage`);
      }
    } else {
      flags[name] = raw;
    }
  }
  return { flags, positionals, app };
}

type FlagSyntax = Pick<Flag, "type" | "short" | "multiple">;

/**
 * Reads argv as node:util's parseArgs does with strict and allowPositionals (`--name value`,
 * `--name=value`, `-n value`, `-nvalue`, grouped `-df`, `--` ends the flags), with its messages
 * worded for flags. Our own because node:util costs about 0.6 MiB of private memory and 3 M
 * instructions at every start on Bun 1.4.5 (BENCHMARKS.md); Bun's parseArgs also names a
 * grouped unknown flag without its dash (`-dx`: 'x'), which Node's and this one do not.
 */
function parseFlags(argv: readonly string[], options: Record<string, FlagSyntax>): { values: Record<string, unknown>; positionals: string[] } {
  const longFor = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) if (option.short) longFor.set(option.short, name);
  const typeOf = (name: string) => (Object.hasOwn(options, name) ? options[name]!.type : undefined);
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const take = (name: string, raw: string, value: string | undefined, inline: boolean) => {
    if (!Object.hasOwn(options, name)) throw new Error(`unknown flag '${raw}'`);
    const { type, short, multiple } = options[name]!;
    const both = `${short ? `-${short}, ` : ""}--${name}`;
    if (type === "string" && value === undefined) throw new Error(`flag '${both} <value>' argument missing`);
    if (type === "boolean" && value !== undefined) throw new Error(`flag '${both}' does not take an argument`);
    if (!inline && value !== undefined && value.length > 1 && value.startsWith("-")) {
      const example = raw.startsWith("--") ? `'${raw}=-XYZ'` : `'--${name}=-XYZ' or '${raw}-XYZ'`;
      throw new Error(`flag '${raw}' argument is ambiguous.\nDid you forget to specify the option argument for '${raw}'?\nTo specify an option argument starting with a dash use ${example}.`);
    }
    if (multiple) ((values[name] ??= []) as string[]).push(value!);
    else values[name] = value ?? true;
  };
  const rest = [...argv];
  // each pass consumes at least one argument (a group puts back fewer characters than it took)
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === "--") {
      positionals.push(...rest);
      break;
    }
    if (arg.length < 2 || !arg.startsWith("-")) {
      positionals.push(arg);
    } else if (arg[1] !== "-") {
      const name = longFor.get(arg[1]!) ?? arg[1]!;
      if (arg.length === 2) take(name, arg, typeOf(name) === "string" ? rest.shift() : undefined, false);
      else if (typeOf(name) === "string") take(name, arg.slice(0, 2), arg.slice(2), true);
      else rest.unshift(...expandGroup(arg, (c) => typeOf(longFor.get(c) ?? c)));
    } else {
      const equals = arg.indexOf("=", 3);
      if (equals < 0) take(arg.slice(2), arg, typeOf(arg.slice(2)) === "string" ? rest.shift() : undefined, false);
      else take(arg.slice(2, equals), arg.slice(0, equals), arg.slice(equals + 1), true);
    }
  }
  return { values, positionals };
}

/** `-dfv` as `-d -f -v`; a flag that takes a value takes the rest of the group: `-dpVALUE` is `-d -pVALUE`. */
function expandGroup(arg: string, typeOf: (short: string) => string | undefined): string[] {
  const out: string[] = [];
  for (let i = 1; i < arg.length; i++) {
    if (typeOf(arg[i]!) === "string" && i < arg.length - 1) {
      out.push(`-${arg.slice(i)}`);
      break;
    }
    out.push(`-${arg[i]}`);
  }
  return out;
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: ${program().name} ${command.name}${Object.keys(command.flags).length ? " [flags]" : ""}${command.args ? ` ${command.args}` : ""}`, "", named(command.summary)];
  if (command.details) lines.push("", named(command.details));
  lines.push("", "Flags:");
  const rows = Object.entries(command.flags).map(([name, flag]) => [
    `${flag.short ? `-${flag.short}, ` : "    "}--${name}${flag.value ? ` ${flag.value}` : ""}`,
    named(flag.description),
  ]);
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([left]) => left!.length)) + 2;
  for (const [left, right] of rows) lines.push(`  ${left!.padEnd(width)}${right}`);
  return `${lines.join("\n")}\n`;
}

/**
 * Help text with the program's own names: "{name}" becomes "notes", "{ENV}" the environment
 * prefix "NOTES". Commands are defined before rodent(app) names the program, so help fills them in.
 */
export function named(text: string): string {
  const { name } = program();
  return text.replaceAll("{name}", name).replaceAll("{ENV}", envPrefix(name).slice(0, -1));
}

/** Flag parsers shared by commands. */
export const parsePort = (raw: string): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new Error("expected a port number from 0 to 65535");
  return n;
};
