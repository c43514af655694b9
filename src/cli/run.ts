// The command line: parse argv, dispatch to a command, and map every error to one line and an
// exit code (the only place that does).
import { claimDaemonChannel } from "../daemon/channel";
import { RodentError, UsageError } from "../errors";
import { EXIT } from "../kernel/exit-codes";
import { program } from "../program";
import { commandHelp, parseCommand, type CliApp } from "./command";
import { COMMANDS, findCommand, mainHelp } from "./index";
import { translateNginxHabits } from "./nginx-habits";
import { outcomeJson } from "./outcome";

/** The command being run with --json, if one is: its failure is a JSON object on stdout too. */
interface JsonMode {
  command?: string;
}

/** Runs `check`, then the command `argv` names for `app`, and ends the process with its exit code. */
export function runCli(app: CliApp, argv: string[], check: () => void = () => {}): Promise<never> {
  const json: JsonMode = {};
  return Promise.resolve()
    .then(check)
    .then(() => main(argv, app, json))
    .then(
      (code) => code,
      (error) => report(error, json),
    )
    .then(async (code) => {
      // process.exit drops what a slow pipe reader has not taken yet (`rodent logs | less`)
      await Promise.all([drained(process.stdout), drained(process.stderr)]);
      return process.exit(code);
    });
}

async function main(argv: string[], app: CliApp, json: JsonMode): Promise<number> {
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
  if (name === "--version" || name === "-v") return findCommand("version")!.run({ flags: {}, positionals: [], app });
  const command = findCommand(name);
  if (!command) {
    throw new UsageError(`unknown command '${name}'`, `commands: ${COMMANDS.map((c) => c.name).join(", ")}, help`);
  }
  // a usage error in a command line that asks for --json is answered in JSON as well
  if ("json" in command.flags && rest.includes("--json")) json.command = command.name;
  const parsed = parseCommand(command, rest, app);
  if (parsed === "help") {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  json.command = parsed.flags.json === true ? command.name : undefined;
  return command.run(parsed);
}

function report(error: unknown, json: JsonMode): number {
  const { name } = program();
  if (error instanceof UsageError) {
    process.stderr.write(`${name}: ${error.message}\n${error.hint}\n`);
  } else if (error instanceof RodentError) {
    process.stderr.write(`${name}: ${error.message}\n`);
  } else {
    process.stderr.write(`${name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  const message = error instanceof Error ? error.message : String(error);
  claimDaemonChannel()?.send({ kind: "failed", message });
  const code = error instanceof RodentError ? error.exitCode : EXIT.failure;
  if (json.command !== undefined) process.stdout.write(outcomeJson(json.command, code, { error: error instanceof RodentError ? message : `unexpected error: ${message}` }));
  return code;
}

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
