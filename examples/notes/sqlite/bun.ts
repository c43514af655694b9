// SQLite on Bun: bun:sqlite, loaded only when the compiled binary opens a database.
import type { SqlDatabase, SqlStatement, SqlValue } from "./types";

export async function loadSqlite(): Promise<(path: string) => SqlDatabase> {
  const { Database } = await import("bun:sqlite");
  return (path) => wrap(new Database(path, { create: true, readwrite: true, strict: true }));
}

function wrap(db: import("bun:sqlite").Database): SqlDatabase {
  return {
    exec: (sql) => void db.exec(sql),
    prepare(sql): SqlStatement {
      const statement = db.prepare<Record<string, unknown>, SqlValue[]>(sql);
      return {
        run: (...params) => statement.run(...params),
        get: (...params) => statement.get(...params) ?? undefined,
        all: (...params) => statement.all(...params),
      };
    },
    close: () => db.close(),
  };
}
