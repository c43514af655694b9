// The few calls the store makes on SQLite, the same on bun:sqlite and node:sqlite.

export type SqlValue = string | number | bigint | null;

export interface SqlStatement {
  /** Runs a statement that returns no rows. */
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  /** The first row, or undefined when there is none. */
  get(...params: SqlValue[]): Record<string, unknown> | undefined;
  all(...params: SqlValue[]): Array<Record<string, unknown>>;
}

export interface SqlDatabase {
  /** Runs one or more statements, no parameters, no rows. */
  exec(sql: string): void;
  /** A prepared statement, kept for the life of the connection. */
  prepare(sql: string): SqlStatement;
  /** Closes the connection; statements prepared on it are finalized. Call once. */
  close(): void;
}
