// Every exit code rodent uses, in one place; the README's table mirrors this one.
export const EXIT = {
  /** Success; graceful shutdown after SIGTERM/SIGINT. */
  ok: 0,
  /** Failure at start-up or run time (bad config, lock held, port in use, fatal error). */
  failure: 1,
  /** Usage error: unknown command or flag, bad flag value. */
  usage: 2,
  /** `status`: the program is not running (LSB). */
  notRunning: 3,
  /** The shutdown deadline passed before the drain and cleanups finished. */
  deadline: 4,
  /** `status`: the instance does not respond (its heartbeat stopped) or cannot be verified (LSB: status unknown). */
  statusUnknown: 4,
} as const;

/** A second SIGINT/SIGTERM during the drain forces exit with 128 + the signal number, as shells report. */
export function forcedBySignal(signal: NodeJS.Signals): number {
  return 128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : signal === "SIGHUP" ? 1 : 0);
}
