// Entry point: parse argv, dispatch to a command, and map every error to one line and an exit code.
import { commandHelp, parseCommand } from "./cli/command";
import { COMMANDS, findCommand, mainHelp } from "./cli/index";
import { claimDaemonChannel } from "./daemon/channel";
import { RodentError, UsageError } from "./errors";
import { EXIT } from "./kernel/exit-codes";
import { translateNginxHabits } from "./cli/nginx-habits";

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = translateNginxHabits(argv);
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic === undefined) {
      process.stdout.write(mainHelp());
      return EXIT.ok;
    }
    const command = findCommand(topic);
    if (!command) throw new UsageError(`unknown command '${topic}'`);
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  if (name === "--version" || name === "-v") return findCommand("version")!.run({ flags: {}, positionals: [] });
  const command = findCommand(name);
  if (!command) {
    throw new UsageError(`unknown command '${name}'`, `commands: ${COMMANDS.map((c) => c.name).join(", ")}, help`);
  }
  const parsed = parseCommand(command, rest);
  if (parsed === "help") {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  return command.run(parsed);
}

function report(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`rodent: ${error.message}\n${error.hint}\n`);
  } else if (error instanceof RodentError) {
    process.stderr.write(`rodent: ${error.message}\n`);
  } else {
    process.stderr.write(`rodent: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  const message = error instanceof Error ? error.message : String(error);
  claimDaemonChannel()?.send({ kind: "failed", message });
  return error instanceof RodentError ? error.exitCode : EXIT.failure;
}

main(process.argv.slice(2))
  .then(
    (code) => code,
    (error) => report(error),
  )
  .then(async (code) => {
    // process.exit drops what a slow pipe reader has not taken yet (`rodent logs | less`)
    await Promise.all([drained(process.stdout), drained(process.stderr)]);
    process.exit(code);
  });

/**
 * Ends `stream` and resolves once everything written to it has been handed to the OS: as long as
 * the reader reads, like any command at the head of a pipe (`rodent logs | less`). A reader that
 * is gone fails the write (EPIPE), which resolves too. Ending is the one signal both runtimes keep:
 * Bun 1.4.5 reports writableLength 0 and calls a write's callback before a pipe took the data.
 */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once("error", () => resolve());
    stream.end(() => resolve());
  });
}
