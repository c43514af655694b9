// The notes database: one SQLite file in WAL mode, its schema migrated at open, every write in its
// own IMMEDIATE transaction, and a close that checkpoints the WAL. Nothing is written after close.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { loadSqlite, type SqlDatabase, type SqlStatement } from "./sqlite";

/**
 * How long a write waits for another connection's write lock (a second instance during a
 * restart) before it fails with SQLITE_BUSY. Transactions here last well under a millisecond
 * plus one fsync, so a wait this long means something is wrong.
 */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * synchronous=FULL in WAL mode: the WAL is fsync'd at every commit, so a note answered 201 is on
 * disk; it survives kill -9 (as NORMAL would) and also a power cut or a kernel crash (which NORMAL
 * would not: it may lose the last commits, though never corrupt the database).
 */
export const SYNCHRONOUS = "FULL";

/** The schema, one step per entry; PRAGMA user_version counts the steps applied. Append only. */
const MIGRATIONS = [
  "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL, created_at INTEGER NOT NULL)",
  "CREATE INDEX notes_by_age ON notes (created_at)",
];

const HEADER = "SQLite format 3\0";
const LAST_ID = Number.MAX_SAFE_INTEGER;

export interface Note {
  id: number;
  text: string;
  createdAt: string;
}

export class NotesStore {
  private closed = false;
  private readonly insert: SqlStatement;
  private readonly byId: SqlStatement;
  private readonly remover: SqlStatement;
  private readonly page: SqlStatement;
  private readonly sweeper: SqlStatement;

  private constructor(
    private readonly db: SqlDatabase,
    /** The database file, as opened; a reload that changes store.database does not change it. */
    readonly path: string,
    /** The schema version after the migrations at open, and the one found there. */
    readonly schema: { from: number; to: number },
    private readonly identity: { dev: number; ino: number },
  ) {
    this.insert = db.prepare("INSERT INTO notes (text, created_at) VALUES (?, ?)");
    this.byId = db.prepare("SELECT id, text, created_at FROM notes WHERE id = ?");
    this.remover = db.prepare("DELETE FROM notes WHERE id = ?");
    this.page = db.prepare("SELECT id, text, created_at FROM notes WHERE id < ? ORDER BY id DESC LIMIT ?");
    this.sweeper = db.prepare("DELETE FROM notes WHERE created_at < ?");
  }

  /**
   * Creates the directory (0700) if needed, opens the database, sets WAL mode, busy_timeout and
   * synchronous, and applies the migrations it lacks in one transaction. Throws a StoreError that
   * names the file and the fix.
   */
  static async open(path: string): Promise<NotesStore> {
    // the driver first: a runtime without one leaves nothing behind
    const openSqlite = await loadSqlite();
    prepareDirectory(dirname(path));
    let db: SqlDatabase;
    try {
      db = openSqlite(path);
    } catch (error) {
      throw sqliteCode(error) ? new StoreError(`cannot open ${path}: ${message(error)}`) : error;
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const mode = db.prepare("PRAGMA journal_mode = WAL").get()?.journal_mode;
      if (mode !== "wal") throw new StoreError(`${path}: SQLite cannot use WAL mode there (it kept ${String(mode)}): put the database on a local filesystem`);
      db.exec(`PRAGMA synchronous = ${SYNCHRONOUS}`);
      const schema = migrate(db, path);
      const { dev, ino } = statSync(path);
      return new NotesStore(db, path, schema, { dev, ino });
    } catch (error) {
      db.close();
      if (sqliteCode(error) === 26) throw new StoreError(`${path} is not an SQLite database: move it away, or point store.database elsewhere`);
      throw sqliteCode(error) ? new StoreError(`cannot open ${path}: ${message(error)}`) : error;
    }
  }

  create(text: string): Note {
    this.open();
    const createdAt = Date.now();
    const id = this.write(() => Number(this.insert.run(text, createdAt).lastInsertRowid));
    return { id, text, createdAt: new Date(createdAt).toISOString() };
  }

  get(id: number): Note | undefined {
    this.open();
    const row = this.byId.get(id);
    return row && toNote(row);
  }

  /** True when the note existed. */
  remove(id: number): boolean {
    this.open();
    return this.write(() => Number(this.remover.run(id).changes) > 0);
  }

  /** Up to `limit` notes, newest first, all older than the note `before` when given. */
  list(limit: number, before?: number): Note[] {
    this.open();
    return this.page.all(before ?? LAST_ID, limit).map(toNote);
  }

  /**
   * Checks the file is still this database, then deletes the notes created before `cutoff`
   * (epoch ms; none when undefined) in one transaction. Returns how many it deleted.
   */
  sweep(cutoff: number | undefined): number {
    this.open();
    this.checkFile();
    if (cutoff === undefined) return 0;
    return this.write(() => Number(this.sweeper.run(cutoff).changes));
  }

  /**
   * Throws when the database cannot take writes: the file was replaced or is no longer SQLite,
   * or its directory refuses a new file (read-only, disk full; SQLite needs to create its -wal
   * and -shm files there at the next open).
   */
  checkWritable(): void {
    this.open();
    this.checkFile();
    const dir = dirname(this.path);
    const probe = `${dir}/.notes-probe-${process.pid}`;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    let fd: number;
    try {
      try {
        fd = openSync(probe, flags, 0o600);
      } catch (error) {
        // left by a killed process that had our PID; the directory is ours alone (0700)
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        unlinkSync(probe);
        fd = openSync(probe, flags, 0o600);
      }
      try {
        // one page, so a full disk shows (an empty file needs no block)
        writeSync(fd, Buffer.alloc(4096));
      } finally {
        closeSync(fd);
        unlinkSync(probe);
      }
    } catch (error) {
      throw new StoreError(`cannot write in ${dir}: ${message(error)}`);
    }
  }

  /**
   * Checkpoints the WAL into the database file (waiting for another instance at most a second,
   * and never past the deadline) and closes it. Later calls to any method throw
   * StoreClosedError; a second close does nothing.
   */
  close(timeLeftMs: number): { busy: number; log: number; checkpointed: number } | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    try {
      // a successor still writing may hold the checkpoint off; its commits are safe in the WAL
      // either way, so wait at most a second (the last connection to close checkpoints anyway)
      this.db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.min(1000, Math.floor(timeLeftMs) - 100))}`);
      const row = this.db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() ?? {};
      return { busy: Number(row.busy), log: Number(row.log), checkpointed: Number(row.checkpointed) };
    } finally {
      this.db.close();
    }
  }

  private open(): void {
    if (this.closed) throw new StoreClosedError();
  }

  /** BEGIN IMMEDIATE takes the write lock first (waiting busy_timeout), so no commit can fail on a stale snapshot. */
  private write<T>(work: () => T): T {
    try {
      this.db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw unavailable(error);
    }
    try {
      const out = work();
      this.db.exec("COMMIT");
      return out;
    } catch (error) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // SQLite already rolled back (a failed COMMIT on a full disk does)
      }
      throw unavailable(error);
    }
  }

  private checkFile(): void {
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      throw new StoreError(`the database file ${this.path} is gone (${message(error)}): restart notes to open a new one`);
    }
    try {
      const { dev, ino } = fstatSync(fd);
      if (dev !== this.identity.dev || ino !== this.identity.ino) throw new StoreError(`the database file ${this.path} was replaced while open: restart notes to open the new file`);
      const header = Buffer.alloc(HEADER.length);
      const read = readSync(fd, header, 0, header.length, 0);
      if (read !== HEADER.length || header.toString("latin1") !== HEADER) throw new StoreError(`the database file ${this.path} is no longer an SQLite database (overwritten?): restore it from a backup`);
    } finally {
      closeSync(fd);
    }
  }
}

/** A store failure a user or the system caused, named with its file and the fix. */
export class StoreError extends Error {}

/** The store was asked for something after it closed (after the drain). */
export class StoreClosedError extends StoreError {
  constructor() {
    super("the store is closed: notes is shutting down");
  }
}

/** A write the database cannot take right now (disk full, read-only, locked, I/O error): a 503, not a 500. */
export class StoreUnavailableError extends StoreError {}

function prepareDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StoreError(`cannot create the database directory ${dir}: ${message(error)}`);
  }
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory()) throw new StoreError(`${dir} is not a directory: point store.database into a directory`);
  if (uid !== undefined && stat.uid !== uid) throw new StoreError(`the database directory ${dir} belongs to UID ${stat.uid}, not to this user (${uid}): chown it, or point store.database elsewhere`);
  if ((stat.mode & 0o022) !== 0) throw new StoreError(`the database directory ${dir} is writable by others (mode ${(stat.mode & 0o777).toString(8)}): chmod 700 ${dir}, or point store.database into a private directory`);
}

function migrate(db: SqlDatabase, path: string): { from: number; to: number } {
  // A database already at this schema needs no write lock: a restart's successor opens it while
  // its predecessor writes under load, and SQLite's busy handler (it sleeps and retries) can lose
  // to a steady writer for the whole busy_timeout ("database is locked": the restart failed).
  const current = schemaVersion(db);
  if (current === MIGRATIONS.length) return { from: current, to: current };
  db.exec("BEGIN IMMEDIATE");
  try {
    const from = schemaVersion(db);
    if (from > MIGRATIONS.length) throw new StoreError(`${path} has schema version ${from}, newer than this notes knows (${MIGRATIONS.length}): run a newer notes`);
    for (const step of MIGRATIONS.slice(from)) db.exec(step);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
    db.exec("COMMIT");
    return { from, to: MIGRATIONS.length };
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

const schemaVersion = (db: SqlDatabase) => Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);

function toNote(row: Record<string, unknown>): Note {
  return { id: Number(row.id), text: String(row.text), createdAt: new Date(Number(row.created_at)).toISOString() };
}

/** SQLite's primary result code of an error from either driver, or undefined when it is not SQLite's. */
function sqliteCode(error: unknown): number | undefined {
  const e = error as { errno?: unknown; errcode?: unknown; code?: unknown };
  if (typeof e?.errcode === "number") return e.errcode & 0xff; // node:sqlite
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_") && typeof e.errno === "number") return e.errno & 0xff; // bun:sqlite
  return undefined;
}

/** BUSY 5, LOCKED 6, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14: conditions, not bugs. */
const UNAVAILABLE = new Set([5, 6, 8, 10, 13, 14]);

function unavailable(error: unknown): unknown {
  const code = sqliteCode(error);
  return code !== undefined && UNAVAILABLE.has(code) ? new StoreUnavailableError(`the database cannot take writes: ${message(error)}`) : error;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
