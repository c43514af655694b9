// The command table, and the top-level help generated from it.
import { program } from "../program";
import { named, type Command } from "./command";
import { completion } from "./completion";
import { config } from "./config";
import { health } from "./health";
import { logs } from "./logs";
import { NGINX_HABITS } from "./nginx-habits";
import { reload } from "./reload";
import { reopen } from "./reopen";
import { restart } from "./restart";
import { serve } from "./serve";
import { status } from "./status";
import { stop } from "./stop";
import { version } from "./version";

export const COMMANDS: Command[] = [serve, stop, status, reload, reopen, restart, health, logs, config, version, completion];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function mainHelp(): string {
  const { name } = program();
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    name === "rodent" ? "rodent: a single-binary HTTP daemon with a process lifecycle you can trust." : `${name}: a service built on rodent.`,
    "",
    `Usage: ${name} <command> [flags]`,
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${named(c.summary)}`),
    `  ${"help".padEnd(width)}Show help for ${name} or for a command.`,
    "",
    "nginx habits:",
    ...NGINX_HABITS.map(([usage, meaning]) => `  ${name} ${usage}: ${meaning}`),
    "",
    `Run '${name} <command> --help' for a command's flags.`,
    "",
  ].join("\n");
}
