// The PID file part: the single-instance lock, taken at start-up (or, for a restart's successor,
// taken over once it is ready), and removed last of all unless a successor now owns it.
import { RodentError } from "../errors";
import { inspectPidFile, takeLock, takeOverLock, type Lock } from "../instance/lock";
import type { Scope } from "../kernel/scope";
import type { Instance, Part } from "./instance";

export function pidFilePart(): Part {
  let scope: Scope;
  const hold = (instance: Instance, taken: Lock) => {
    instance.lock = taken;
    const { log, pidPath } = instance;
    scope.defer(
      "pid-file",
      () => {
        if (taken.release()) return;
        const next = successor(pidPath);
        if (next) log.info(`the PID file now names the successor (PID ${next}); left it to it`, { event: "handed-over", successor: next });
        else log.warn(`the PID file ${pidPath} no longer names this process (changed by hand?); left it alone`, { event: "pid-file-changed" });
      },
      { critical: true },
    );
  };
  return {
    name: "pid-file",
    start(own, instance) {
      scope = own;
      const { predecessor, pidPath } = instance;
      if (predecessor === undefined) return hold(instance, takeLock(pidPath));
      if (successor(pidPath) !== predecessor) throw new RodentError(`cannot take over from PID ${predecessor}: the PID file ${pidPath} does not name it`);
    },
    // A restart's successor, listening and started: take the PID file over in one rename.
    ready(instance) {
      if (instance.predecessor !== undefined) hold(instance, takeOverLock(instance.pidPath, instance.predecessor));
    },
  };
}

/** The PID of the live instance the PID file names, when that is not this process. */
export function successor(pidPath: string): number | undefined {
  try {
    const seen = inspectPidFile(pidPath);
    return seen.kind === "held" && seen.holder.pid !== process.pid ? seen.holder.pid : undefined;
  } catch {
    // unreadable now (EMFILE during a drain under load): no successor is known; never throw into the drain
    return undefined;
  }
}
