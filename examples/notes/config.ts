// The `store` config section: where the database lives, how long notes are kept, how often the
// sweeper runs. Durations stay strings as written (so `notes config print` and `config init`
// show them as an operator writes them) and are turned into milliseconds by durationMs().
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import * as v from "valibot";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
/** setTimeout's longest wait: a longer sweep interval would fire at once. */
const MAX_INTERVAL_MS = 24 * 3_600_000;

/** Milliseconds for "500ms", "30s", "15m", "2h", "7d"; undefined when it is not a duration. */
export function durationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * UNITS[match[2]!]!);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

const duration = (key: string) =>
  v.pipe(
    v.string(`${key}: expected a duration like 30s, 15m or 7d`),
    v.check((s) => durationMs(s) !== undefined, `${key}: expected a duration like 30s, 15m or 7d`),
  );

/**
 * The default database: /var/lib/notes/notes.db as root, else $XDG_DATA_HOME/notes/notes.db when
 * that is set, else ~/.notes/notes.db. Read when the config is loaded.
 */
export function defaultDatabasePath(): string {
  if (process.getuid?.() === 0) return "/var/lib/notes/notes.db";
  const xdg = process.env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "notes", "notes.db");
  return join(homedir(), ".notes", "notes.db");
}

export const storeSection = v.object({
  /** The SQLite file; its directory is created 0700. Needs a restart to change. */
  database: v.optional(
    v.pipe(v.string("database: expected a file path"), v.check(isAbsolute, "database: expected an absolute path such as /var/lib/notes/notes.db")),
    defaultDatabasePath,
  ),
  /** Notes older than this are deleted by the sweeper; 0s keeps them forever. Reloadable. */
  retention: v.optional(duration("retention"), "0s"),
  /** How often the sweeper runs, 1s to 24h. Reloadable. */
  sweepInterval: v.optional(
    v.pipe(
      v.string("sweepInterval: expected a duration from 1s to 24h, like 30s or 5m"),
      v.check((s) => (durationMs(s) ?? 0) >= 1000 && (durationMs(s) ?? 0) <= MAX_INTERVAL_MS, "sweepInterval: expected a duration from 1s to 24h, like 30s or 5m"),
    ),
    "1m",
  ),
});

export type StoreConfig = v.InferOutput<typeof storeSection>;
