// The command table, and the top-level help generated from it.
import type { Command } from "./command";
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
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "rodent: a single-binary HTTP daemon with a process lifecycle you can trust.",
    "",
    "Usage: rodent <command> [flags]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${"help".padEnd(width)}Show help for rodent or for a command.`,
    "",
    "nginx habits:",
    ...NGINX_HABITS.map(([usage, meaning]) => `  rodent ${usage}: ${meaning}`),
    "",
    "Run 'rodent <command> --help' for a command's flags.",
    "",
  ].join("\n");
}
