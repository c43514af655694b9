// A descriptor for the log's stdout (or stderr) whose writes never block, so a reader that stops
// reading costs log lines, never the daemon: a full pipe answers EAGAIN instead of freezing the
// event loop in write(2).
import { constants, fstatSync, openSync } from "node:fs";

const O_CLOEXEC = 0o2000000;

export interface Output {
  fd: number;
  /** Whether writes to fd can block; true only where nothing here could prevent it. */
  blocking: boolean;
  /** Why writes may block, said once by the caller. */
  why?: string;
}

/**
 * Pipes, FIFOs and terminals are reopened through /proc with O_NONBLOCK: a private open file
 * description, so the flag reaches neither the shell that shares fd 1 nor a restart's successor.
 * A socket (the journal) cannot be reopened by path; its own description is switched to
 * non-blocking, and stays so (a successor that inherited it writes non-blocking as well).
 * Regular files and /dev/null never block and are used as they are.
 */
export function nonBlockingOutput(fd: number): Output {
  const plain: Output = { fd, blocking: false };
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    return plain; // closed: the first write fails and the sink says so once
  }
  if (stat.isFile()) return plain;
  if (stat.isFIFO() || stat.isCharacterDevice()) {
    try {
      const own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY | O_CLOEXEC);
      return { fd: own, blocking: false }; // open for the life of the process
    } catch {
      // no /proc, or a FIFO whose reader is gone: fall through to the descriptor's own flags
    }
  }
  const problem = setNonBlocking(fd);
  return problem ? { ...plain, blocking: true, why: problem } : plain;
}

/** Sets O_NONBLOCK on the open file description of `fd`; returns why it could not, or undefined. */
function setNonBlocking(fd: number): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const impl: { setNonBlocking(fd: number): string | undefined } = typeof Bun !== "undefined" ? require("./bun") : require("./node");
  return impl.setNonBlocking(fd);
}
