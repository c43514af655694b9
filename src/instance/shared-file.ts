// Reading and creating files in a directory other users may write (a sticky /tmp, a shared run
// dir): never follow a symlink, never block on a FIFO or device, never read more than a cap, and
// say why a file was not trusted instead of trusting it.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

export type SharedRead =
  | { kind: "absent" }
  | { kind: "read"; text: string; stat: Stats }
  /** There is something at the path, but not a file we may trust; `why` says what it is. */
  | { kind: "refused"; why: string; stat?: Stats };

export interface SharedReadOptions {
  /** Refuse a file larger than this; at most this many bytes are ever read. */
  maxBytes: number;
  /** Refuse a file owned by anyone else. */
  ownerUid?: number;
}

/**
 * Reads `path` as one trusted text file: opened with O_NOFOLLOW|O_NONBLOCK (a symlink is refused,
 * a FIFO neither blocks nor is read), then checked on the open descriptor (no race with a swap):
 * a regular file, owned by `ownerUid` when given, at most `maxBytes`. Throws only for errors of
 * the directory itself (EACCES on a path component), which callers turn into a message.
 */
export function readSharedFile(path: string, options: SharedReadOptions): SharedRead {
  const opened = openSharedFile(path, { ownerUid: options.ownerUid });
  if (opened.kind !== "open") return opened;
  const { fd, stat } = opened;
  try {
    if (stat.size > options.maxBytes) return { kind: "refused", why: `larger than ${options.maxBytes} bytes`, stat };
    // The size may grow after fstat: read at most one byte past the cap to notice.
    const buffer = Buffer.alloc(options.maxBytes + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > options.maxBytes) return { kind: "refused", why: `larger than ${options.maxBytes} bytes`, stat };
    return { kind: "read", text: buffer.toString("utf8", 0, length), stat };
  } finally {
    closeSync(fd);
  }
}

export type SharedOpen = { kind: "open"; fd: number; stat: Stats } | Exclude<SharedRead, { kind: "read" }>;

/**
 * Opens `path` for reading as a regular file without blocking: O_NONBLOCK (a FIFO or device never
 * blocks the open), O_NOFOLLOW unless `follow` (a symlink is refused), then checked on the open
 * descriptor (no race with a swap): a regular file, owned by `ownerUid` when given. On "open" the
 * caller owns `fd` and closes it; reads from a regular file never block, whatever O_NONBLOCK says.
 * Throws only for errors of the directory itself (EACCES on a path component).
 */
export function openSharedFile(path: string, options: { ownerUid?: number; follow?: boolean } = {}): SharedOpen {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (options.follow ? 0 : constants.O_NOFOLLOW) | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "absent" };
    if (code === "ELOOP") return { kind: "refused", why: "a symbolic link" };
    // a unix socket cannot be opened at all
    if (code === "ENXIO") return { kind: "refused", why: "a socket" };
    throw error;
  }
  const refuse = (why: string, stat: Stats): SharedOpen => {
    closeSync(fd);
    return { kind: "refused", why, stat };
  };
  const stat = fstatSync(fd);
  if (stat.isDirectory()) return refuse("a directory", stat);
  if (!stat.isFile()) return refuse(`not a regular file (${kindOf(stat)})`, stat);
  if (options.ownerUid !== undefined && stat.uid !== options.ownerUid) return refuse(`owned by uid ${stat.uid}, not uid ${options.ownerUid}`, stat);
  return { kind: "open", fd, stat };
}

/**
 * Creates a new file next to `path` under an unpredictable name (`<path>.<pid>.<random>.tmp`) with
 * O_CREAT|O_EXCL|O_NOFOLLOW, so nothing planted there in advance (a symlink to a file to clobber, a
 * FIFO) is ever opened. Returns its path and descriptor; the caller writes, closes and renames it.
 */
export function createTemp(path: string, mode: number): { temp: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const temp = `${path}.${process.pid}.${randomHex(6)}.tmp`;
    try {
      return { temp, fd: openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode) };
    } catch (error) {
      // a name taken by chance: draw another (bounded, so a full directory cannot loop forever)
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 8) throw error;
    }
  }
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

/**
 * `bytes` random bytes as hex, from the web global crypto: node:crypto would load Node's streams
 * at start-up (about 1.6 MiB of private memory and 7 M instructions on Bun 1.4.5, BENCHMARKS.md).
 */
function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}
