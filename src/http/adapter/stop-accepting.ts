// Bun.serve can stop accepting only by stop(), which also closes every idle keep-alive connection
// at once: a hand-over needs the listener gone while the open connections stay. Only bun.ts uses it.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { openLibc } from "../../ffi/libc";

/** The inodes of the listening TCP sockets on `port` in a /proc/net/tcp or tcp6 table. */
export function listeningInodes(table: string, port: number): string[] {
  const inodes: string[] = [];
  for (const line of table.split("\n").slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    const columns = line.trim().split(/\s+/);
    if (columns.length < 10 || columns[3] !== "0A") continue;
    if (parseInt(columns[1]!.slice(columns[1]!.lastIndexOf(":") + 1), 16) === port) inodes.push(columns[9]!);
  }
  return inodes;
}

/** The descriptor of this process's one listening TCP socket on `port`, or a reason why not. */
function listeningDescriptor(port: number): number | string {
  const wanted = new Set<string>();
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    try {
      for (const inode of listeningInodes(readFileSync(table, "utf8"), port)) wanted.add(inode);
    } catch {
      // no IPv6 in this kernel: its table is missing
    }
  }
  const found: number[] = [];
  for (const entry of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${entry}`);
    } catch {
      continue; // closed meanwhile (the readdir's own descriptor, for one)
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && wanted.has(inode)) found.push(Number(entry));
  }
  return found.length === 1 ? found[0]! : `${found.length} listening sockets of this process on port ${port}`;
}

/**
 * Closes this process's listening socket on `port` and leaves its open connections as they are:
 * dup2() puts /dev/null in its place, so the kernel closes the socket (a restart's successor,
 * sharing the port, gets every new connection; with net.ipv4.tcp_migrate_req=1 it also gets those
 * queued here) while the descriptor number stays taken, and Bun's epoll set forgets it (no event on
 * it ever again, no busy loop), until stop() closes the /dev/null copy. Returns undefined when
 * done, or why it could not (no /proc, no C library): then nothing was changed.
 */
export function stopAccepting(port: number): string | undefined {
  try {
    const fd = listeningDescriptor(port);
    if (typeof fd === "string") return fd;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const { lib } = openLibc((name) => dlopen(name, { dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } }));
    const placeholder = openSync("/dev/null", "r");
    try {
      if (lib.symbols.dup2(placeholder, fd) !== fd) return `dup2 over fd ${fd} failed`;
    } finally {
      closeSync(placeholder);
      lib.close();
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
