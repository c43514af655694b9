// The single-instance lock: a PID file created atomically, taken over from a dead holder under a
// guard, never written through a symlink, never removed unless it still names this process.
import { closeSync, constants, linkSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { RodentError } from "../errors";
import { classify, selfIdentity, type ProgramIdentity } from "./identity";
import { program } from "../program";

export class AlreadyRunningError extends RodentError {
  constructor(readonly pid: number, path: string) {
    super(`another instance is already running (PID: ${pid}, PID file ${path}); stop it with '${program().name} stop' or use another --pid-file`);
  }
}

export class PidFileForeignError extends RodentError {
  constructor(path: string, what: string) {
    super(`${path} is ${what}, not a ${program().name} PID file; it was left untouched: remove it yourself or choose another --pid-file`);
  }
}

export class PidFileAccessError extends RodentError {
  constructor(path: string, error: NodeJS.ErrnoException) {
    const fix: Record<string, string> = {
      EACCES: "permission denied: make the directory writable by this user or choose another --pid-file",
      EPERM: "permission denied: make the directory writable by this user or choose another --pid-file",
      EROFS: "read-only file system: choose a --pid-file on a writable one (e.g. under /run)",
      ENOENT: "its directory does not exist and could not be created: create it or choose another --pid-file",
      ENOTDIR: "a component of the path is not a directory: choose another --pid-file",
    };
    super(`cannot create PID file ${path}: ${fix[error.code ?? ""] ?? `${error.code ?? error.message}: choose another --pid-file`}`);
  }
}

export interface Holder {
  pid: number;
  /** The file's mtime, the moment the holder wrote it. */
  writtenAtMs: number;
  ino: number;
}

export type Inspection =
  | { kind: "absent" }
  | { kind: "held"; holder: Holder }
  | { kind: "stale"; holder: Holder | undefined; ino: number; why: string }
  | { kind: "foreign"; what: string };

/**
 * Reads the PID file at `path` without following a symlink and says who holds it: nobody, a live
 * rodent, a stale holder (dead, recycled PID, empty file) or something that is not our file.
 */
export function inspectPidFile(path: string, self: ProgramIdentity = selfIdentity()): Inspection {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    throw new PidFileAccessError(path, error as NodeJS.ErrnoException);
  }
  if (stat.isSymbolicLink()) return { kind: "foreign", what: "a symbolic link" };
  if (stat.isDirectory()) return { kind: "foreign", what: "a directory" };
  if (!stat.isFile()) return { kind: "foreign", what: "not a regular file" };
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    throw new PidFileAccessError(path, error as NodeJS.ErrnoException);
  }
  if (text.trim() === "") return { kind: "stale", holder: undefined, ino: stat.ino, why: "empty" };
  if (!/^\d{1,10}\n?$/.test(text) || Number(text) < 1) return { kind: "foreign", what: "a file that does not hold a PID" };
  const holder: Holder = { pid: Number(text), writtenAtMs: stat.mtimeMs, ino: stat.ino };
  const liveness = holder.pid === process.pid ? "ours" : classify(holder.pid, holder.writtenAtMs, self);
  if (liveness === "ours") return { kind: "held", holder };
  return { kind: "stale", holder, ino: stat.ino, why: liveness === "dead" ? `PID ${holder.pid} is not running` : `PID ${holder.pid} is another program` };
}

export interface Lock {
  path: string;
  /**
   * Removes the file if, and only if, it is still the one this process wrote. Returns false when
   * it was not (deleted or replaced by hand meanwhile): then it is left alone. Synchronous, idempotent.
   */
  release(): boolean;
  /** True while the file at the path is still the one this process wrote. */
  stillHeld(): boolean;
}

/**
 * Takes the lock: writes our PID to a private temp file, then link()s it to `path`, which fails if
 * anything is there, so the file is never seen empty or half-written. A stale file is replaced by
 * rename() only under a `<path>.takeover` guard created with O_EXCL, after re-checking under the
 * guard that it is still the same stale file: two instances that both saw it stale cannot both win.
 */
export function takeLock(path: string, self: ProgramIdentity = selfIdentity()): Lock {
  ensureDir(path);
  const temp = `${path}.${process.pid}.tmp`;
  writeTemp(path, temp);
  try {
    const until = Date.now() + 5000;
    for (let attempt = 0; Date.now() < until && attempt < 1000; attempt++) {
      try {
        linkSync(temp, path);
        return lockFor(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new PidFileAccessError(path, error as NodeJS.ErrnoException);
      }
      const seen = inspectPidFile(path, self);
      if (seen.kind === "held") throw new AlreadyRunningError(seen.holder.pid, path);
      if (seen.kind === "foreign") throw new PidFileForeignError(path, seen.what);
      if (seen.kind === "stale" && replaceStale(path, temp, seen.ino, self)) return lockFor(path);
      // absent again, or another instance is mid-takeover: look again
      sleepSync(2 + Math.random() * 8);
    }
    const last = inspectPidFile(path, self);
    if (last.kind === "held") throw new AlreadyRunningError(last.holder.pid, path);
    throw new RodentError(`could not take the PID file ${path}: another instance kept changing it; try again`);
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // renamed into place, or never written
    }
  }
}

function replaceStale(path: string, temp: string, staleIno: number, self: ProgramIdentity): boolean {
  return (
    underGuard(path, () => {
      const again = inspectPidFile(path, self);
      if (again.kind !== "stale" || again.ino !== staleIno) return false;
      renameSync(temp, path);
      return true;
    }) ?? false
  );
}

/**
 * Runs `fn` holding the `<path>.takeover` guard (created with O_EXCL); undefined if another
 * process holds it. A guard older than 10 s was left by a process killed mid-takeover (which
 * lasts microseconds) and is removed for the next try.
 */
function underGuard<T>(path: string, fn: () => T): T | undefined {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new PidFileAccessError(guard, error as NodeJS.ErrnoException);
    try {
      if (Date.now() - lstatSync(guard).mtimeMs > 10_000) unlinkSync(guard);
    } catch {
      // gone already
    }
    return undefined;
  }
  try {
    closeSync(fd);
    return fn();
  } finally {
    unlinkSync(guard);
  }
}

/**
 * The successor's side of a restart: replaces the PID file that names `predecessor` with one
 * naming this process, in one rename() under the takeover guard, so the lock is never held by
 * nobody. Throws if the file no longer names the predecessor (it stopped, or another restart won).
 */
export function takeOverLock(path: string, predecessor: number, self: ProgramIdentity = selfIdentity()): Lock {
  const temp = `${path}.${process.pid}.tmp`;
  writeTemp(path, temp);
  try {
    for (let attempt = 0; attempt < 500; attempt++) {
      const done = underGuard(path, () => {
        const seen = inspectPidFile(path, self);
        if (seen.kind !== "held" || seen.holder.pid !== predecessor) {
          throw new RodentError(`the PID file ${path} no longer names PID ${predecessor} (it stopped, or another restart took over); nothing was changed`);
        }
        renameSync(temp, path);
        return true;
      });
      if (done) return lockFor(path);
      sleepSync(2 + Math.random() * 8);
    }
    throw new RodentError(`could not take over the PID file ${path}: another process kept its takeover guard; try again`);
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // renamed into place
    }
  }
}

function lockFor(path: string): Lock {
  const ino = lstatSync(path).ino;
  let released = false;
  const stillHeld = () => {
    try {
      const stat = lstatSync(path);
      return stat.ino === ino && Number(readFileSync(path, "utf8")) === process.pid;
    } catch {
      return false;
    }
  };
  return {
    path,
    stillHeld,
    release() {
      if (released) return true;
      released = true;
      if (!stillHeld()) return false;
      unlinkSync(path);
      return true;
    },
  };
}

function writeTemp(path: string, temp: string): void {
  let fd: number;
  try {
    try {
      unlinkSync(temp);
    } catch {
      // no leftover from an earlier run with our PID
    }
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw new PidFileAccessError(path, error as NodeJS.ErrnoException);
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
}

function ensureDir(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: process.getuid?.() === 0 ? 0o755 : 0o700 });
  } catch (error) {
    throw new PidFileAccessError(path, error as NodeJS.ErrnoException);
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
