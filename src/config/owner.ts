// Whose config file this is: rodent reads a config file only when the caller or root owns it, so
// another local user cannot plant settings (a PID file, a log path) in a directory someone stands in.
import { readFileSync } from "node:fs";
import { program } from "../program";
import { RodentError } from "../errors";

export class ConfigOwnerError extends RodentError {
  constructor(path: string, uid: number) {
    super(`config file ${path} is owned by ${userName(uid)}, not by you or root; ${program().name} does not read another user's config: chown it, or name your own with -c`);
  }
}

/**
 * Throws ConfigOwnerError unless `uid`, the owner of the file as opened (fstat on the descriptor
 * the text was read from, so a symlink swapped between a check and the open cannot slip another
 * user's file in), is this process's user or root. Without getuid (not POSIX), nothing is checked.
 */
export function checkConfigOwner(path: string, uid: number): void {
  const me = process.getuid?.();
  if (me === undefined) return;
  if (uid !== me && uid !== 0) throw new ConfigOwnerError(path, uid);
}

/** "name (uid N)" from /etc/passwd, or "uid N". */
function userName(uid: number): string {
  try {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.split(":")[2] === String(uid));
    if (line) return `${line.split(":")[0]} (uid ${uid})`;
  } catch {
    // no passwd file (a minimal container): the number says enough
  }
  return `uid ${uid}`;
}
