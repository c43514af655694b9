// sd_notify on Node: Node has no unix datagram sockets and no FFI, so hand the message to
// systemd's own systemd-notify(1) (the unit needs NotifyAccess=all: the sender is its child).
import type { Transport } from "./index";

export async function transport(socket: string): Promise<Transport> {
  const { spawnSync } = await import("node:child_process");
  // Node's hrtime is CLOCK_MONOTONIC.
  const monotonicUsec = () => process.hrtime.bigint() / 1000n;
  const send = (message: string) => {
    // No --pid: it would add MAINPID=<this process> to every message, and a late one from an
    // instance that handed over to its successor would make it the main process again.
    const result = spawnSync("systemd-notify", message.split("\n"), {
      env: { ...process.env, NOTIFY_SOCKET: socket },
      stdio: "ignore",
      timeout: 2000,
    });
    if (result.error) return `systemd-notify: ${result.error.message}`;
    return result.status === 0 ? undefined : `systemd-notify exited ${result.status}`;
  };
  return { send, monotonicUsec };
}
