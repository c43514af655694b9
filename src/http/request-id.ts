// Request ids rodent makes when the client sent none it can keep: a per-process random prefix and
// a counter, as go-chi's RequestID does. Unique across instances and restarts (each process draws
// its own 64-bit prefix), and the ids of one process share its prefix and count up, which a UUID
// does not tell. Not measurably cheaper than crypto.randomUUID() on Bun 1.4.5: both cost 60–110 ns
// (BENCHMARKS.md, issue 20).

/** What a client's X-Request-Id may be to be kept as it is: 1–128 characters that are safe in a log line. */
const SANE_ID = /^[\w.:@/+=-]{1,128}$/;

/** 16 hex digits drawn once per process from the system's random source. */
const PREFIX = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("") + "-";
let counter = 0;

/** The client's id when it is sane, else a new one: `<16 hex digits of this process>-<n>`, n from 1. */
export function requestIdFor(given: string | null): string {
  return given !== null && SANE_ID.test(given) ? given : PREFIX + ++counter;
}
