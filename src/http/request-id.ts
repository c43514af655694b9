// Request ids rodent makes when the client sent none it can keep: a per-process random prefix and
// a counter, as go-chi's RequestID does. Unique across instances and restarts (each process draws
// its own 64-bit prefix), and the ids of one process share its prefix and count up, which a UUID
// does not tell. Not measurably cheaper than crypto.randomUUID() on Bun 1.4.5: both cost 60–110 ns
// (BENCHMARKS.md, issue 20).

/** What a client's X-Request-Id may be to be kept as it is: 1–128 characters that are safe in a log line. */
const SANE_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * 16 hex digits and a dash, drawn once per process from the system's random source when the first
 * id is made: not at module load, where the first crypto.getRandomValues() costs about 0.5 ms of
 * start-up.
 */
let prefix: string | undefined;
let counter = 0;

/** The client's id when it is sane, else a new one: `<16 hex digits of this process>-<n>`, n from 1. */
export function requestIdFor(given: string | null): string {
  if (given !== null && SANE_ID.test(given)) return given;
  prefix ??= Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("") + "-";
  return prefix + ++counter;
}
