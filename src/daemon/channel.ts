// The daemon side of the readiness hand-shake: one JSON line on an inherited pipe, then closed.
import { closeSync, writeSync } from "node:fs";

/** Set by the parent in the child's environment; removed at once so grandchildren never see it. */
export const DAEMON_FD_ENV = "RODENT_INTERNAL_DAEMON_FD";

/** Set by `rodent restart` in the successor's environment: the PID it replaces. */
export const TAKEOVER_ENV = "RODENT_INTERNAL_TAKEOVER";

/**
 * Set by an instance that hands its listening socket to its successor (the Node bundle on TCP):
 * JSON {fd, host, port}, the descriptor and the address it was configured as.
 */
export const HANDOVER_ENV = "RODENT_INTERNAL_LISTENER";

export interface HandedOverListener {
  host: string;
  port: number;
}

/**
 * The listening descriptor a predecessor passed on: `fd` when its configured address is
 * `host`:`port` (the successor's own config). A socket for another address is closed and reported
 * as `elsewhere`: the successor then binds the address its config names, as any restart applies a
 * changed address. Undefined when nothing was passed. Removes the variable.
 */
export function claimHandedOverListener(host: string, port: number, socket: string | undefined): { fd: number } | "elsewhere" | undefined {
  const raw = process.env[HANDOVER_ENV];
  delete process.env[HANDOVER_ENV];
  if (raw === undefined) return undefined;
  let handed: HandedOverListener & { fd: number };
  try {
    handed = JSON.parse(raw) as HandedOverListener & { fd: number };
  } catch {
    return undefined;
  }
  if (!Number.isInteger(handed.fd)) return undefined;
  if (socket === undefined && handed.host === host && handed.port === port) return { fd: handed.fd };
  try {
    closeSync(handed.fd);
  } catch {
    // not open: nothing to close
  }
  return "elsewhere";
}

export type Handshake = { kind: "ready"; pid: number; address: string } | { kind: "failed"; message: string };

export interface DaemonChannel {
  send(message: Handshake): void;
}

let channel: DaemonChannel | undefined;

/**
 * Claims the hand-shake pipe if this process is a daemon child: strips the marker from the
 * environment, sets the umask the original used (027), and returns the channel. Idempotent.
 */
export function claimDaemonChannel(): DaemonChannel | undefined {
  if (channel) return channel;
  const raw = process.env[DAEMON_FD_ENV];
  if (raw === undefined) return undefined;
  delete process.env[DAEMON_FD_ENV];
  process.umask(0o027);
  let fd: number | undefined = Number(raw);
  channel = {
    send(message) {
      if (fd === undefined) return;
      try {
        writeSync(fd, `${JSON.stringify(message)}\n`);
        closeSync(fd);
      } catch {
        // the parent gave up waiting: nothing to tell
      }
      fd = undefined;
    },
  };
  return channel;
}

export function isDaemonChild(): boolean {
  return channel !== undefined || process.env[DAEMON_FD_ENV] !== undefined;
}
