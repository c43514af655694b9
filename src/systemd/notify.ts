// The sd_notify protocol: READY, RELOADING (with MONOTONIC_USEC, which systemd 253+ requires),
// STOPPING, STATUS, MAINPID and the watchdog, sent as datagrams to $NOTIFY_SOCKET.
import type { Scope } from "../kernel/scope";
import { transport } from "./transport";

export interface Notifier {
  ready(status: string): void;
  reloading(): void;
  stopping(): void;
  /** Tells systemd which process is the service now (a restart hands over to a new one). */
  mainPid(pid: number): void;
}

interface NotifyLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/**
 * A notifier when $NOTIFY_SOCKET is set, else undefined. Starts the watchdog in a child of `parent` when
 * $WATCHDOG_USEC asks for one (and $WATCHDOG_PID, if set, is this process, or `predecessor`: a
 * restart's successor inherits the variables and becomes the main PID): WATCHDOG=1 every half
 * interval from a timer, so a blocked event loop stops the pings and systemd acts. The variables
 * are removed from the environment so the daemon's own children do not talk to systemd.
 */
export async function createNotifier(parent: Scope, log: NotifyLog, predecessor?: number, env: NodeJS.ProcessEnv = process.env): Promise<Notifier | undefined> {
  const socket = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID;
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (!socket) return undefined;
  const { send, monotonicUsec } = await transport(socket, (message) => log.warn(message, { event: "notify-fallback" }));
  let warned = false;
  const notify = (message: string) => {
    const error = send(message);
    if (error && !warned) {
      warned = true;
      log.warn(`cannot notify systemd at ${socket}: ${error}`, { event: "notify-failed" });
    }
  };
  if (watchdogUsec > 0 && (!watchdogPid || Number(watchdogPid) === process.pid || Number(watchdogPid) === predecessor)) {
    const timer = setInterval(() => notify("WATCHDOG=1"), Math.max(1, Math.floor(watchdogUsec / 2000)));
    parent.child("systemd").defer("watchdog", () => clearInterval(timer));
  }
  return {
    ready: (status) => notify(`READY=1\nMAINPID=${process.pid}\nSTATUS=${status}`),
    reloading: () => notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\nSTATUS=reloading`),
    stopping: () => notify("STOPPING=1\nSTATUS=draining"),
    mainPid: (pid) => notify(`MAINPID=${pid}`),
  };
}
