// The daemon side of the readiness hand-shake: one JSON line on an inherited pipe, then closed.
import { closeSync, writeSync } from "node:fs";

/** Set by the parent in the child's environment; removed at once so grandchildren never see it. */
export const DAEMON_FD_ENV = "RODENT_INTERNAL_DAEMON_FD";

/** Set by `rodent restart` in the successor's environment: the PID it replaces. */
export const TAKEOVER_ENV = "RODENT_INTERNAL_TAKEOVER";

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
