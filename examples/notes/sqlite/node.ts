// SQLite on Node: node:sqlite (Node 22.13+, or 22.5+ with --experimental-sqlite). On an older
// Node the import fails, and opening says which Node the bundle needs.
import type { SqlDatabase, SqlStatement } from "./types";

/** The running Node has no node:sqlite. */
export class NodeWithoutSqliteError extends Error {
  constructor() {
    super(`the Node bundle needs node:sqlite, in Node 22.13 or later (22.5 to 22.12 with --experimental-sqlite); this is Node ${process.version}: upgrade Node or run the compiled binary`);
  }
}

export async function loadSqlite(): Promise<(path: string) => SqlDatabase> {
  // a variable specifier keeps the bundler from resolving a module Node 20 does not have
  const specifier = "node:sqlite";
  let sqlite: NodeSqlite;
  try {
    sqlite = await import(specifier);
  } catch {
    throw new NodeWithoutSqliteError();
  }
  return (path) => wrap(new sqlite.DatabaseSync(path));
}

function wrap(db: InstanceType<NodeSqlite["DatabaseSync"]>): SqlDatabase {
  return {
    exec: (sql) => db.exec(sql),
    prepare(sql): SqlStatement {
      const statement = db.prepare(sql);
      return {
        run: (...params) => statement.run(...params),
        get: (...params) => statement.get(...params),
        all: (...params) => statement.all(...params),
      };
    },
    close: () => db.close(),
  };
}

/** The part of node:sqlite used here (the pinned @types/node is Node 20's, which has none). */
interface NodeSqlite {
  DatabaseSync: new (path: string) => {
    exec(sql: string): void;
    prepare(sql: string): SqlStatement;
    close(): void;
  };
}
