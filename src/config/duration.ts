// Durations as operators write them: "30s", "500ms", "2m", "1h", "7d".

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** setTimeout's longest wait (about 24.8 days): a longer one fires at once. */
export const LONGEST_TIMER_MS = 2_147_483_647;

/**
 * Milliseconds for a duration string, or undefined when it is not one or is longer than `limit`
 * (by default the longest timer, since most durations end up in one).
 */
export function parseDuration(text: string, limit = LONGEST_TIMER_MS): number | undefined {
  const match = PATTERN.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  return Number.isFinite(ms) && ms <= limit ? Math.round(ms) : undefined;
}

/** As parseDuration, for values the schema has already validated. */
export function ms(text: string): number {
  const value = parseDuration(text);
  if (value === undefined) throw new Error(`not a duration: ${text}`);
  return value;
}

/** A duration as an operator would write it: 30000 → "30s", 60000 → "60s", 3600000 → "1h", 500 → "500ms", 7 days → "7d". */
export function formatDuration(ms: number): string {
  if (ms > 0 && ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
