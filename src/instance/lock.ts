// The single-instance lock: a PID file created atomically, taken over from a dead holder under a
// guard, never written through a symlink, never removed unless it still names this process.
import { closeSync, constants, linkSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { RodentError } from "../errors";
import { classify, selfIdentity, type ProgramIdentity, type Verdict } from "./identity";
import { readPidFile } from "./pid-file";
import { createTemp } from "./shared-file";
import { readStatusOf } from "./status";
import { program } from "../program";

export class AlreadyRunningError extends RodentError {
  constructor(readonly pid: number, path: string, why?: string) {
    super(`another instance is already running (PID: ${pid}, PID file ${path})${why ? ` as far as can be told (${why})` : ""}; stop it with '${program().name} stop' or use another --pid-file`);
  }
}

export class PidFileForeignError extends RodentError {
  constructor(path: string, what: string) {
    super(`${path} is ${what}, not a ${program().name} PID file; it was left untouched: remove it yourself or choose another --pid-file`);
  }
}

export class PidFileAccessError extends RodentError {
  constructor(path: string, error: NodeJS.ErrnoException, verb: "create" | "read" | "replace" = "create") {
    const denied = verb === "read" ? "permission denied: run as the instance's user or root, or choose another --pid-file" : "permission denied: make the directory writable by this user or choose another --pid-file";
    const fix: Record<string, string> = {
      EACCES: denied,
      EPERM: denied,
      EROFS: "read-only file system: choose a --pid-file on a writable one (e.g. under /run)",
      ENOENT: "its directory does not exist and could not be created: create it or choose another --pid-file",
      ENOTDIR: "a component of the path is not a directory: choose another --pid-file",
    };
    super(`cannot ${verb} PID file ${path}: ${fix[error.code ?? ""] ?? `${error.code ?? error.message}: choose another --pid-file`}`);
  }
}

/** A stale file another user owns in a sticky directory: only that user or root may replace it. */
export class StaleFileNotOursError extends RodentError {
  constructor(path: string, ownerUid: number, why: string) {
    super(`the stale PID file ${path} (${why}) belongs to uid ${ownerUid} and this user may not replace it (sticky directory): remove it as that user or root, or choose another --pid-file`);
  }
}

export interface Holder {
  pid: number;
  /** The file's mtime, the moment the holder wrote it. */
  writtenAtMs: number;
  ino: number;
  /** The file's owner: the uid its writer ran as. */
  ownerUid: number;
  /** How sure we are that `pid` is a rodent of this build ("ours") or only plausibly ("unverified"). */
  verdict: Extract<Verdict, { kind: "ours" | "unverified" }>;
}

export type Inspection =
  | { kind: "absent" }
  | { kind: "held"; holder: Holder }
  | { kind: "stale"; holder: Omit<Holder, "verdict"> | undefined; ino: number; ownerUid: number; why: string; liveStranger: boolean }
  | { kind: "foreign"; what: string };

/** dev:ino of the PID files this process wrote: a file naming our PID that we did not write is stale. */
const writtenHere = new Set<string>();

/**
 * Reads the PID file at `path` without following a symlink or blocking, and says who holds it:
 * nobody, a live rodent (see identity.classify), a stale holder (dead, recycled PID, another
 * program, our own PID in a file we did not write, empty file) or something that is not our file.
 * An unverifiable live holder counts as held: the lock errs on the side of not running twice.
 */
export function inspectPidFile(path: string, self: ProgramIdentity = selfIdentity()): Inspection {
  let file;
  try {
    file = readPidFile(path);
  } catch (error) {
    throw new PidFileAccessError(path, error as NodeJS.ErrnoException, "read");
  }
  if (file.kind === "absent" || file.kind === "foreign") return file;
  const { stat } = file;
  if (file.kind === "empty") return { kind: "stale", holder: undefined, ino: stat.ino, ownerUid: stat.uid, why: "empty", liveStranger: false };
  const facts = { pid: file.pid, writtenAtMs: stat.mtimeMs, ino: stat.ino, ownerUid: stat.uid };
  const stale = (why: string, liveStranger: boolean): Inspection => ({ kind: "stale", holder: facts, ino: stat.ino, ownerUid: stat.uid, why, liveStranger });
  if (file.pid === process.pid) {
    // As PID 1 in a container, or after a reboot, a leftover file can name this very process.
    if (writtenHere.has(`${stat.dev}:${stat.ino}`)) return { kind: "held", holder: { ...facts, verdict: { kind: "ours", uid: process.geteuid?.() ?? -1, by: "executable" } } };
    return stale(`it names PID ${file.pid}, this process, which did not write it: left over from before a restart`, false);
  }
  const verdict = classify(file.pid, facts, self, (pid, uid, startedAtMs) => corroborated(path, pid, uid, startedAtMs));
  if (verdict.kind === "ours" || verdict.kind === "unverified") return { kind: "held", holder: { ...facts, verdict } };
  if (verdict.kind === "dead") return stale(`PID ${file.pid} is not running`, false);
  return stale(verdict.why, true);
}

/** Its own status record (owned by its uid, naming its PID) says it started when /proc says it did. */
function corroborated(pidPath: string, pid: number, uid: number, startedAtMs: number | undefined): boolean {
  const read = readStatusOf(pidPath, { pid, uid });
  if (read.kind !== "read") return false;
  const recordedStart = Date.parse(read.record.startedAt);
  // the record's startedAt is taken after the config is loaded: shortly after exec, never before it
  return startedAtMs === undefined || (recordedStart >= startedAtMs - 2000 && recordedStart <= startedAtMs + 120_000);
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
export function takeLock(path: string, given?: ProgramIdentity): Lock {
  // this program's identity is read (a readlink and a few stats) only to judge a PID file already there
  let known = given;
  const self = () => (known ??= selfIdentity());
  ensureDir(path);
  const temp = writeTemp(path);
  try {
    const until = Date.now() + 5000;
    for (let attempt = 0; Date.now() < until && attempt < 1000; attempt++) {
      try {
        linkSync(temp, path);
        return lockFor(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new PidFileAccessError(path, error as NodeJS.ErrnoException);
      }
      const seen = inspectPidFile(path, self());
      if (seen.kind === "held") throw new AlreadyRunningError(seen.holder.pid, path, seen.holder.verdict.kind === "unverified" ? seen.holder.verdict.why : undefined);
      if (seen.kind === "foreign") throw new PidFileForeignError(path, seen.what);
      if (seen.kind === "stale" && replaceStale(path, temp, seen, self())) return lockFor(path);
      // absent again, or another instance is mid-takeover: look again
      sleepSync(2 + Math.random() * 8);
    }
    const last = inspectPidFile(path, self());
    if (last.kind === "held") throw new AlreadyRunningError(last.holder.pid, path);
    throw new RodentError(`could not take the PID file ${path}: another instance kept changing it; try again`);
  } finally {
    removeQuietly(temp);
  }
}

function replaceStale(path: string, temp: string, stale: Extract<Inspection, { kind: "stale" }>, self: ProgramIdentity): boolean {
  return (
    underGuard(path, () => {
      const again = inspectPidFile(path, self);
      if (again.kind !== "stale" || again.ino !== stale.ino) return false;
      try {
        renameSync(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EPERM") throw new StaleFileNotOursError(path, stale.ownerUid, stale.why);
        throw new PidFileAccessError(path, error as NodeJS.ErrnoException, "replace");
      }
      return true;
    }) ?? false
  );
}

/** A guard is held for microseconds; one this old was left by a process killed mid-takeover. */
const GUARD_STALE_MS = 10_000;

/**
 * Runs `fn` holding the `<path>.takeover` guard (created with O_EXCL|O_NOFOLLOW); undefined if
 * another process holds it. A guard older than 10 s is removed for the next try; one this user
 * may not remove (another user's, in a sticky directory) is an error naming it.
 */
function underGuard<T>(path: string, fn: () => T): T | undefined {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw new PidFileAccessError(guard, error as NodeJS.ErrnoException);
    removeOldGuard(guard);
    return undefined;
  }
  try {
    closeSync(fd);
    return fn();
  } finally {
    removeQuietly(guard);
  }
}

function removeOldGuard(guard: string): void {
  let stat;
  try {
    stat = lstatSync(guard);
    if (Date.now() - stat.mtimeMs <= GUARD_STALE_MS) return;
    unlinkSync(guard);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === "EPERM" || code === "EACCES") && stat) {
      throw new RodentError(`the takeover guard ${guard} is ${Math.round((Date.now() - stat.mtimeMs) / 1000)} s old and belongs to uid ${stat.uid}, who may not be this user: remove it as that user or root, or choose another --pid-file`);
    }
    // gone already
  }
}

/**
 * The successor's side of a restart: replaces the PID file that names `predecessor` with one
 * naming this process, in one rename() under the takeover guard, so the lock is never held by
 * nobody. Throws if the file no longer names the predecessor (it stopped, or another restart won).
 */
export function takeOverLock(path: string, predecessor: number, self: ProgramIdentity = selfIdentity()): Lock {
  const temp = writeTemp(path);
  try {
    for (let attempt = 0; attempt < 500; attempt++) {
      const done = underGuard(path, () => {
        const seen = inspectPidFile(path, self);
        if (seen.kind !== "held" || seen.holder.pid !== predecessor) {
          throw new RodentError(`the PID file ${path} no longer names PID ${predecessor} (it stopped, or another restart took over); nothing was changed`);
        }
        try {
          renameSync(temp, path);
        } catch (error) {
          throw new PidFileAccessError(path, error as NodeJS.ErrnoException, "replace");
        }
        return true;
      });
      if (done) return lockFor(path);
      sleepSync(2 + Math.random() * 8);
    }
    throw new RodentError(`could not take over the PID file ${path}: another process kept its takeover guard; try again`);
  } finally {
    removeQuietly(temp);
  }
}

/** Reading failed for want of a descriptor or memory: says nothing about whose the file is. */
const TRANSIENT = new Set(["EMFILE", "ENFILE", "ENOMEM", "EAGAIN", "EINTR"]);

function lockFor(path: string): Lock {
  const { dev, ino } = lstatSync(path);
  writtenHere.add(`${dev}:${ino}`);
  let released = false;
  /**
   * Whether the file at `path` is still the one we wrote: read (it names our PID) when a descriptor
   * can be had; under descriptor exhaustion, retried briefly, then judged by lstat alone (no
   * descriptor needed): the same device and inode is the file we linked into place, which only
   * its owner or root could have rewritten. "Cannot read now" is never taken for "not ours".
   */
  const stillHeld = () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const file = readPidFile(path);
        return file.kind === "pid" && file.stat.ino === ino && file.stat.dev === dev && file.pid === process.pid;
      } catch (error) {
        if (!TRANSIENT.has((error as NodeJS.ErrnoException).code ?? "")) return false;
        sleepSync(2 * (attempt + 1));
      }
    }
    try {
      const stat = lstatSync(path);
      return stat.isFile() && stat.ino === ino && stat.dev === dev;
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
      try {
        unlinkSync(path);
      } catch (error) {
        // removed meanwhile: not ours to complain about
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      return true;
    },
  };
}

/** Our PID in a new file beside `path` (unpredictable name, O_EXCL|O_NOFOLLOW); returns its path. */
function writeTemp(path: string): string {
  let created;
  try {
    created = createTemp(path, 0o644);
  } catch (error) {
    throw new PidFileAccessError(path, error as NodeJS.ErrnoException);
  }
  try {
    writeSync(created.fd, `${process.pid}\n`);
  } finally {
    closeSync(created.fd);
  }
  return created.temp;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // renamed into place, or never written
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
