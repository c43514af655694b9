// Loads the running runtime's own SQLite driver: the only file that asks which runtime it is.
export type { SqlDatabase, SqlStatement, SqlValue } from "./types";
import type { SqlDatabase } from "./types";

/** Opens (creating it if missing) the SQLite database at a path. */
export type OpenSqlite = (path: string) => SqlDatabase;

/** The driver: bun:sqlite on Bun, node:sqlite on Node (throws on a Node without it). */
export async function loadSqlite(): Promise<OpenSqlite> {
  const driver = typeof Bun !== "undefined" ? await import("./bun") : await import("./node");
  return driver.loadSqlite();
}
