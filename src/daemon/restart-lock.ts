// One restart at a time per instance: `<pidfile>.restart`, created with O_EXCL|O_NOFOLLOW and
// holding the PID of the `rodent restart` that owns it, removed when that restart ends.
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { RodentError } from "../errors";
import { isAlive } from "../instance/identity";
import { program } from "../program";

export class RestartInProgressError extends RodentError {
  constructor(pid: number | undefined, path: string) {
    super(`another restart of this instance is in progress (${pid ? `${program().name} restart PID ${pid}, ` : ""}lock ${path}); wait for it to finish, then check '${program().name} status'`);
  }
}

export class RestartLockError extends RodentError {}

export interface RestartLock {
  /** Removes the lock if it is still the file this process created. Idempotent. */
  release(): void;
}

/**
 * Takes the restart lock beside `pidPath`. A lock whose PID is no longer running was left by a
 * restart that was killed: it is removed (only if it is still the same file) and taken again,
 * once. Throws RestartInProgressError while another live restart holds it, RestartLockError when
 * the path holds something else or cannot be created.
 */
export function takeRestartLock(pidPath: string): RestartLock {
  const path = `${pidPath}.restart`;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw new RestartLockError(`cannot create the restart lock ${path} (${code}): run restart as the instance's user or as root`);
      const seen = inspect(path);
      if (seen.kind === "foreign") throw new RestartLockError(`${path} is not a restart lock (not a regular file holding a PID); remove it, then restart again`);
      if (seen.kind === "held") throw new RestartInProgressError(seen.pid, path);
      removeIfSame(path, seen.ino);
      continue;
    }
    const ino = fstatSync(fd).ino;
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        removeIfSame(path, ino);
      },
    };
  }
  throw new RestartLockError(`could not take the restart lock ${path}: it kept changing; try again`);
}

type Seen = { kind: "held"; pid: number | undefined } | { kind: "stale"; ino: number } | { kind: "foreign" };

/**
 * Who holds the lock file, read without following a link or blocking, at most 32 bytes. An empty
 * file is a restart killed between create and write once it is older than 10 s (that gap lasts
 * microseconds), else one still starting.
 */
function inspect(path: string): Seen {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    // gone meanwhile: free to take
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? { kind: "stale", ino: -1 } : { kind: "foreign" };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { kind: "foreign" };
    const buffer = Buffer.alloc(32);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, 32, 0)).toString();
    if (text === "") return Date.now() - stat.mtimeMs > 10_000 ? { kind: "stale", ino: stat.ino } : { kind: "held", pid: undefined };
    if (!/^\d{1,10}\n?$/.test(text)) return { kind: "foreign" };
    const pid = Number(text);
    return pid !== process.pid && isAlive(pid) ? { kind: "held", pid } : { kind: "stale", ino: stat.ino };
  } finally {
    closeSync(fd);
  }
}

function removeIfSame(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // removed meanwhile
  }
}
