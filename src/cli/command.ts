// A command is a definition: name, summary, flags, run. Parsing and help text are generated from
// the same definition, so they cannot drift.
import { parseArgs } from "node:util";
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
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, flag] of Object.entries(command.flags)) {
    options[name] = { type: flag.type, ...(flag.short ? { short: flag.short } : {}), ...(flag.multiple ? { multiple: true } : {}) };
  }
  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true }));
  } catch (error) {
    throw new UsageError(`${command.name}: ${cleanParseError((error as Error).message)}`, `run '${program().name} ${command.name} --help' for usage`);
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

function cleanParseError(message: string): string {
  // node's messages carry a hint to use "--" that does not apply here
  return message.split(". To specify")[0]!.replace(/^Unknown option/, "unknown flag").replace(/^Option/, "flag");
}

/** Flag parsers shared by commands. */
export const parsePort = (raw: string): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new Error("expected a port number from 0 to 65535");
  return n;
};
