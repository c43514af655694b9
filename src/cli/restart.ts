// `rodent restart`: start the executable now on disk with the running instance's arguments,
// environment and directory, let it bind beside the old one and take the lock over once ready,
// and only then let the old one drain. A successor that fails leaves the old one serving.
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { RodentError } from "../errors";
import { inspectPidFile } from "../instance/lock";
import { isAlive } from "../instance/identity";
import { readStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { findTarget, targetFlags, waitFor } from "./target";
import { program } from "../program";

export const restart: Command = {
  name: "restart",
  summary: "Replace the running instance with a fresh start of the binary on disk, dropping no request.",
  flags: targetFlags,
  details:
    "The new process binds the same port (SO_REUSEPORT) or is handed the listening socket, becomes\nready, takes over the PID file, and only then is the old one told to drain. Replacing the binary\nfirst and then restarting is an upgrade.",
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind !== "held") throw new RodentError(`${program().name} is not running (PID file ${pidPath}); start it with '${program().name} serve'`);
    const old = seen.holder.pid;
    const record = readStatus(pidPath);
    let next: { pid: number; address: string };
    if (catches(old, signalFor("handover"))) {
      // It can pass its listening socket on (the Node bundle on TCP): it starts the successor itself.
      next = await askForHandover(old, pidPath);
    } else {
      if (readMigrateReq() === "0" && !record?.address.startsWith("unix:")) {
        process.stderr.write(`${program().name}: warning: net.ipv4.tcp_migrate_req is 0, so connections queued on the old listener may be reset as it closes; set it to 1 (sysctl) for a hand-over that drops nothing\n`);
      }
      const { startSuccessor } = await import("../daemon/successor");
      next = await startSuccessor({ of: old, output: "reopen", logHint: record?.logFile ?? "its output" }).catch((error: Error) => {
        throw new RodentError(`the new instance failed; PID ${old} keeps serving: ${error.message}`);
      });
    }
    await waitFor(() => !isAlive(old), 120_000);
    const now = readStatus(pidPath);
    process.stdout.write(`${program().name} restarted: PID ${old} → PID ${next.pid} on ${next.address}${now?.version ? ` (version ${now.version})` : ""}\n`);
    return EXIT.ok;
  },
};

/**
 * Sends the hand-over signal and waits for the outcome: the PID file naming a ready successor, or
 * the old instance recording why its successor failed (it keeps serving then).
 */
async function askForHandover(old: number, pidPath: string): Promise<{ pid: number; address: string }> {
  const before = readStatus(pidPath)?.handover?.seq ?? 0;
  process.kill(old, signalFor("handover"));
  let outcome: { pid: number; address: string } | string | undefined;
  const settled = await waitFor(() => {
    const record = readStatus(pidPath);
    const holder = inspectPidFile(pidPath);
    if (holder.kind === "held" && holder.holder.pid !== old && record?.pid === holder.holder.pid && record.state !== "starting") {
      outcome = { pid: record.pid, address: record.address };
    } else if (record?.pid === old && (record.handover?.seq ?? 0) > before) {
      outcome = record.handover?.error ?? "the successor failed";
    } else if (!isAlive(old) && holder.kind !== "held") {
      outcome = `PID ${old} exited during the restart and nothing took over; see its log`;
    }
    return outcome !== undefined;
  }, 40_000);
  if (!settled) throw new RodentError(`PID ${old} did not report a restart outcome within 40 s; check its log`);
  if (typeof outcome === "string") throw new RodentError(`the new instance failed; PID ${old} keeps serving: ${outcome}`);
  return outcome!;
}

/** Whether `pid` has a handler for `signal` (SigCgt in /proc): sending it otherwise would kill it. */
function catches(pid: number, signal: NodeJS.Signals): boolean {
  const n = constants.signals[signal];
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(n - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function readMigrateReq(): string | undefined {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
  } catch {
    return undefined;
  }
}
