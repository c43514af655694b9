// The `store` config section: where the database lives, how long notes are kept, how often the
// sweeper runs. Durations use rodent's duration(): written "7d", read as milliseconds, and printed
// back as written by `notes config print`.
import { isAbsolute, join } from "node:path";
import { dataDir, duration } from "rodent";
import * as v from "valibot";

/** The default database: notes.db in the app's data directory (rodent's dataDir()). */
export function defaultDatabasePath(): string {
  return join(dataDir(), "notes.db");
}

export const storeSection = v.object({
  /** The SQLite file; its directory is created 0700. Needs a restart to change. */
  database: v.optional(
    v.pipe(v.string("database: expected a file path"), v.check(isAbsolute, "database: expected an absolute path such as /var/lib/notes/notes.db")),
    defaultDatabasePath,
  ),
  /** Notes older than this are deleted by the sweeper; 0s keeps them forever. Reloadable. */
  retention: v.optional(duration(), "0s"),
  /** How often the sweeper runs, 1s to 24h (setTimeout's range, with room). Reloadable. */
  sweepInterval: v.optional(duration({ min: "1s", max: "24h" }), "60s"),
});

export type StoreConfig = v.InferOutput<typeof storeSection>;
