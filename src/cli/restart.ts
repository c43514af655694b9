// `rodent restart`: ask the running instance to start a fresh copy of its program (the file now on
// disk), which binds beside it or is handed its socket, takes the PID file over once ready, and
// only then lets the old one drain. A successor that fails leaves the old one serving. The caller
// never runs the instance's program itself: the instance starts its successor as its own user,
// with its own environment and output.
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { RodentError } from "../errors";
import { ownerOf, runsThisProgram } from "../daemon/program";
import { takeRestartLock } from "../daemon/restart-lock";
import { inspectPidFile } from "../instance/lock";
import { isAlive } from "../instance/identity";
import { readStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { finish, jsonFlag } from "./outcome";
import { findTarget, targetFlags, waitFor } from "./target";
import { program } from "../program";

export const restart: Command = {
  name: "restart",
  summary: "Replace the running instance with a fresh start of the binary on disk, dropping no request.",
  flags: { ...targetFlags, ...jsonFlag },
  details:
    "The running instance starts its successor itself (SIGUSR2), as its own user and with its own\nenvironment and output; the successor binds the same port (SO_REUSEPORT) or is handed the\nlistening socket, becomes ready, takes over the PID file, and only then is the old one told to\ndrain. Replacing the binary first and then restarting is an upgrade. One restart at a time.",
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind !== "held") throw new RodentError(`${program().name} is not running (PID file ${pidPath}); start it with '${program().name} serve'`);
    const old = seen.holder.pid;
    checkRestartable(old);
    const lock = takeRestartLock(pidPath);
    try {
      // another restart may have finished between the look above and taking the lock
      const now = inspectPidFile(pidPath);
      if (now.kind !== "held" || now.holder.pid !== old) throw new RodentError(`PID ${old} was replaced or stopped meanwhile (${whoServes(pidPath)}); nothing was done`);
      const record = readStatus(pidPath);
      // it would ignore the signal, and a successor would have nothing to take over
      if (record?.pid === old && record.state === "draining") throw new RodentError(`PID ${old} is shutting down; once it has exited, start a new instance with '${program().name} serve'`);
      if (readMigrateReq() === "0" && record?.pid === old && !record.runtime.startsWith("node") && !record.address.startsWith("unix:")) {
        process.stderr.write(`${program().name}: warning: net.ipv4.tcp_migrate_req is 0, so connections queued on the old listener may be reset as it closes; set it to 1 (sysctl) for a hand-over that drops nothing\n`);
      }
      let next: { pid: number; address: string };
      if (catches(old, signalFor("handover"))) {
        next = await askForHandover(old, pidPath);
      } else {
        next = await startFromHere(old, pidPath);
      }
      const gone = await waitFor(() => !isAlive(old), 120_000);
      const version = readStatus(pidPath)?.version;
      return finish("restart", flags, EXIT.ok, {
        text: `${program().name} restarted: PID ${old} → PID ${next.pid} on ${next.address}${version ? ` (version ${version})` : ""}${gone ? "" : `; PID ${old} is still draining`}`,
        fields: { previousPid: old, pid: next.pid, address: next.address, version: version ?? null, previousDraining: !gone },
      });
    } finally {
      lock.release();
    }
  },
};

/**
 * Refuses, with one line, an instance this caller may not restart: one run by another user (unless
 * the caller is root: the instance then starts its successor as its own user), or one that does not
 * run this program (a restart makes it run its program again: prove it is rodent first).
 */
function checkRestartable(pid: number): void {
  const me = process.getuid?.();
  const owner = ownerOf(pid);
  if (me !== undefined && me !== 0 && owner && (owner.uid !== me || owner.euid !== me)) {
    throw new RodentError(`PID ${pid} runs as uid ${owner.euid}, not as you (uid ${me}): run '${program().name} restart' as that user or as root`);
  }
  const verdict = runsThisProgram(pid);
  if (!verdict.ok) {
    throw new RodentError(`PID ${pid} does not run this ${program().name} (${process.execPath}) but ${verdict.runs}; nothing was started: restart it with the ${program().name} it runs, or stop it and start it again`);
  }
}

/**
 * Sends the hand-over signal and waits for the outcome: the PID file naming a ready successor, or
 * the old instance recording why its successor failed (it keeps serving then).
 */
async function askForHandover(old: number, pidPath: string): Promise<{ pid: number; address: string }> {
  const before = readStatus(pidPath)?.handover?.seq ?? 0;
  try {
    process.kill(old, signalFor("handover"));
  } catch (error) {
    throw new RodentError(`cannot signal PID ${old} (${(error as NodeJS.ErrnoException).code}): run '${program().name} restart' as its user or as root`);
  }
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
  if (!settled) throw new RodentError(`PID ${old} did not report a restart outcome within 40 s; check its log (${whoServes(pidPath)})`);
  if (typeof outcome === "string") throw failed(old, pidPath, outcome);
  return outcome!;
}

/**
 * An instance that does not catch SIGUSR2 was started by a rodent older than this one: start its
 * successor from here, which is only safe for the instance's own user, and only where its output
 * can be reopened (a socket, such as the journal's, cannot).
 */
async function startFromHere(old: number, pidPath: string): Promise<{ pid: number; address: string }> {
  const record = readStatus(pidPath);
  if (record?.pid !== old || record.state === "starting") throw new RodentError(`PID ${old} is still starting; try again once '${program().name} status' says ready`);
  const owner = ownerOf(old);
  if (!owner || owner.euid !== process.getuid?.()) {
    throw new RodentError(`PID ${old} was started by an older ${program().name} that cannot start its own successor, and runs as another user: run '${program().name} restart' as uid ${owner?.euid ?? "?"}, or stop it and start it again`);
  }
  const { startSuccessor } = await import("../daemon/successor");
  return startSuccessor({ of: old, output: "reopen", logHint: record.logFile ?? "its output" }).catch((error: Error) => {
    throw failed(old, pidPath, error.message);
  });
}

/** The error for a failed successor, saying truthfully who serves now. */
function failed(old: number, pidPath: string, why: string): RodentError {
  const now = inspectPidFile(pidPath);
  if (now.kind === "held" && now.holder.pid === old) return new RodentError(`the new instance failed; PID ${old} keeps serving: ${why}`);
  return new RodentError(`the new instance failed: ${why}; ${whoServes(pidPath)}`);
}

/** Who holds the PID file now, as a clause for a message. */
function whoServes(pidPath: string): string {
  const now = inspectPidFile(pidPath);
  if (now.kind === "held") return `PID ${now.holder.pid} holds ${pidPath} now`;
  return `no instance holds ${pidPath} now: start one with '${program().name} serve'`;
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
