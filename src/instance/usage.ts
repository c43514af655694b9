// What a running instance uses, read from /proc: resident memory, CPU time, and the TCP
// connections it holds open on its listening port. For `rodent status` and the process metrics;
// every field is undefined when /proc does not tell (another user's process seen by a non-root
// caller, a system without /proc).
import { closeSync, constants, openSync, readdirSync, readlinkSync, readSync } from "node:fs";

export interface Usage {
  rssBytes: number | undefined;
  cpuMs: number | undefined;
  /** ESTABLISHED TCP sockets of the process on `port`; undefined for a unix socket or when unreadable. */
  connections: number | undefined;
}

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in these ticks on every architecture. */
const TICKS_PER_SECOND = 100;
/** A process with more descriptors than this is not walked: status must stay quick. */
const MAX_FDS = 100_000;
/** /proc/PID/net/tcp of a busy host lists every socket: read at most this much of any file. */
const MAX_READ = 4 * 1024 * 1024;

export function usageOf(pid: number, port: number | undefined): Usage {
  return { rssBytes: rss(pid), cpuMs: cpu(pid), connections: port === undefined ? undefined : connections(pid, port) };
}

/** Resident memory in bytes (VmRSS). */
export function rss(pid: number | "self"): number | undefined {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readOr(`/proc/${pid}/status`))?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** User + system CPU time in milliseconds, at the kernel's tick resolution. */
export function cpu(pid: number | "self"): number | undefined {
  const fields = statFields(pid);
  const utime = Number(fields?.[11]);
  const stime = Number(fields?.[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return Math.round(((utime + stime) * 1000) / TICKS_PER_SECOND);
}

/**
 * /proc/PID/stat's fields after the command name, state first (so stat(5)'s field n is [n - 3]);
 * undefined when it cannot be read. The name may hold spaces and parentheses: fields start after
 * the last ')'.
 */
export function statFields(pid: number | "self"): string[] | undefined {
  const stat = readOr(`/proc/${pid}/stat`, 4096);
  const end = stat.lastIndexOf(")");
  return end < 0 ? undefined : stat.slice(end + 2).split(" ");
}

/**
 * The process's sockets (inodes behind /proc/PID/fd) that its network namespace's TCP tables
 * (/proc/PID/net/tcp, tcp6) list as ESTABLISHED with local port `port`: accepted connections,
 * not the listener and not connections the process made elsewhere.
 */
function connections(pid: number, port: number): number | undefined {
  const established = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["tcp", "tcp6"]) {
    for (const line of readOr(`/proc/${pid}/net/${table}`).split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length > 9 && f[1]!.endsWith(`:${portHex}`) && f[3] === "01") established.add(f[9]!);
    }
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined; // not ours to look at
  }
  let count = 0;
  for (const fd of fds.slice(0, MAX_FDS)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode && established.has(inode)) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

/**
 * The text of a /proc file, or "" when it cannot be read: opened O_NONBLOCK (nothing under /proc
 * should block, and a file swapped for a FIFO must not either), at most `max` bytes.
 */
export function readOr(path: string, max = MAX_READ): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return "";
  }
  try {
    // /proc files report size 0: read in chunks until the end or the cap
    const chunks: Buffer[] = [];
    let total = 0;
    for (let n = 1; n > 0 && total < max; total += n) {
      const chunk = Buffer.allocUnsafe(Math.min(65536, max - total));
      n = readSync(fd, chunk, 0, chunk.length, null);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks).toString("utf8");
  } catch {
    return "";
  } finally {
    closeSync(fd);
  }
}
