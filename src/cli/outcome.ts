// How a command that reports an outcome prints it: lines for a person, or with --json exactly one
// JSON object on stdout, `{"command","ok","exitCode",...}` (and `error` when ok is false), for
// success and failure alike. --json changes stdout only: what a command writes on stderr (a
// failure's one line, a warning) it writes there in both modes.
import { jsonEscaped } from "../log/escape";
import type { Flag } from "./command";

export const jsonFlag: Record<string, Flag> = {
  json: { type: "boolean", description: "print the outcome as one JSON object on stdout, on failure too (with ok, exitCode and error)" },
};

/** The object --json prints: the command, whether it exited 0, its exit code, then its own fields. */
export function outcomeJson(command: string, exitCode: number, fields: Record<string, unknown>): string {
  // the record's strings come from another process: controls a terminal obeys are escaped
  return `${jsonEscaped(JSON.stringify({ command, ok: exitCode === 0, exitCode, ...fields }))}\n`;
}

export interface Report {
  /** The lines a person reads, without the final newline. */
  text: string;
  /** The JSON object's fields besides command, ok and exitCode. */
  fields?: Record<string, unknown>;
  /** Where the text goes without --json: stdout for exit 0, else stderr, unless named. */
  stream?: "stdout" | "stderr";
  /** With ok false, the object's `error`: default the text's first line. */
  error?: string;
}

/**
 * Prints `report` for a command that ends with `exitCode` and returns that code: the text alone,
 * or with --json the one object on stdout (and text meant for stderr still on stderr).
 */
export function finish(command: string, flags: Record<string, unknown>, exitCode: number, report: Report): number {
  const stream = report.stream ?? (exitCode === 0 ? "stdout" : "stderr");
  if (!flags.json) {
    process[stream].write(`${report.text}\n`);
    return exitCode;
  }
  if (stream === "stderr") process.stderr.write(`${report.text}\n`);
  const error = exitCode === 0 ? {} : { error: report.error ?? report.text.split("\n")[0] };
  process.stdout.write(outcomeJson(command, exitCode, { ...error, ...report.fields }));
  return exitCode;
}
