// The valibot schema for a duration key, shared by rodent's own sections and the kit's plugins:
// an operator writes "30s", the program reads milliseconds, and `config print` writes "30s" back.
import * as v from "valibot";
import { LONGEST_TIMER_MS, parseDuration } from "./duration";

/** Marks a leaf as a duration, for the env reader and for printing it back as written. */
export const DURATION = { kind: "duration" } as const;

/** The inclusive range a duration key accepts, as an operator writes it. */
export interface DurationRange {
  /** The shortest accepted, e.g. "1s"; default "0ms". */
  min?: string;
  /**
   * The longest accepted, e.g. "24h". Default: no limit (a retention of "365d" is fine); a key
   * that ends up in setTimeout should set at most "24d", since a longer wait fires at once.
   */
  max?: string;
}

const UNIT_MESSAGE = "expected a duration like 30s or 500ms (units ms, s, m, h, d)";

/**
 * A duration key: a string such as "500ms", "30s", "15m", "2h" or "7d", validated against `range`
 * and output as whole milliseconds. An invalid value is reported with the key's path and what to
 * write ("expected a duration from 1s to 24h"), like every key of rodent's own. Use it with
 * v.optional for a default: `v.optional(duration({ min: "1s" }), "30s")`.
 */
export function duration(range: DurationRange = {}) {
  const min = range.min ?? "0ms";
  const low = bound(min, "min");
  const high = range.max === undefined ? Number.MAX_SAFE_INTEGER : bound(range.max, "max");
  const span = range.max === undefined ? `at least ${min}` : `from ${min} to ${range.max}`;
  return v.pipe(
    v.string(UNIT_MESSAGE),
    v.check(
      (s) => {
        const value = parseDuration(s, high);
        return value !== undefined && value >= low;
      },
      (issue) => (parseDuration(issue.input as string, Number.MAX_SAFE_INTEGER) === undefined ? UNIT_MESSAGE : `expected a duration ${span}`),
    ),
    // milliseconds from here on: no component parses a duration again
    v.transform((s: string) => parseDuration(s, high)!),
    v.metadata(DURATION),
  );
}

function bound(text: string, which: string): number {
  const value = parseDuration(text, Number.MAX_SAFE_INTEGER);
  // a programming error in the app, found when the schema is built
  if (value === undefined) throw new TypeError(`duration(): ${which} must be a duration like 30s, got ${JSON.stringify(text)}`);
  return value;
}
