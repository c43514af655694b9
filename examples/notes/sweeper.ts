// The sweeper: a worker that deletes notes older than store.retention every store.sweepInterval,
// each sweep one transaction. Both settings are read afresh for every sweep, so a reload applies
// to the next one; a changed interval re-plans the wait at once.
import { formatDuration, type PluginLog } from "rodent";
import type { StoreConfig } from "./config";
import type { NotesStore } from "./store";

export interface Sweeper {
  /** The worker for ctx.run: ends when `signal` aborts, between sweeps; throws what a sweep throws. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * Re-plans the wait with `interval` (a reload hook's next sweepInterval: the hook runs before
   * the config swaps, so config() may still return the previous one).
   */
  reschedule(intervalMs: number): void;
}

export function sweeper(store: NotesStore, config: () => StoreConfig, log: PluginLog): Sweeper {
  let wake: (() => void) | undefined;
  let interval: number | undefined;
  return {
    reschedule(next) {
      interval = next;
      wake?.();
    },
    async run(signal) {
      let last = Date.now();
      while (!signal.aborted) {
        const every = interval ?? config().sweepInterval;
        const due = last + every;
        log.debug(`next sweep in ${formatDuration(every)}`, { event: "sweep-planned", inMs: Math.max(0, due - Date.now()) });
        const outcome = await sleepUntil(due, signal, (fn) => (wake = fn));
        if (outcome !== "due") continue;
        interval = undefined;
        last = Date.now();
        const keep = config().retention;
        const retention = formatDuration(keep);
        // a sweep is synchronous: the signal is only looked at between sweeps, never inside one
        const deleted = store.sweep(keep === 0 ? undefined : last - keep);
        if (keep === 0) log.debug("sweep: retention 0s keeps every note", { event: "sweep", deleted, retention });
        else log[deleted > 0 ? "info" : "debug"](`sweep deleted ${deleted} note${deleted === 1 ? "" : "s"} older than ${retention}`, { event: "sweep", deleted, retention });
      }
    },
  };
}

/** "due" at `due` (epoch ms), "aborted" when the signal fires, "woken" when the waker is called. */
function sleepUntil(due: number, signal: AbortSignal, setWaker: (wake: () => void) => void): Promise<"due" | "aborted" | "woken"> {
  return new Promise((resolve) => {
    const done = (outcome: "due" | "aborted" | "woken") => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      setWaker(() => {});
      resolve(outcome);
    };
    const onAbort = () => done("aborted");
    const timer = setTimeout(() => done("due"), Math.max(0, due - Date.now()));
    signal.addEventListener("abort", onAbort);
    setWaker(() => done("woken"));
    if (signal.aborted) done("aborted");
  });
}
