// Errors a user can cause: each one names the thing and carries the fix, and knows its exit code.
import { EXIT } from "./kernel/exit-codes";
import { program } from "./program";

export class RodentError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line: unknown command or flag, bad flag value. */
export class UsageError extends RodentError {
  constructor(message: string, readonly hint = `run '${program().name} help' for usage`) {
    super(message, EXIT.usage);
  }
}

/** A command that exists in the CLI but is not available in this build or runtime. */
export class NotAvailableError extends RodentError {}
