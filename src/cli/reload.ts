// `rodent reload`: SIGHUP, then wait for the instance to record the outcome and report it.
import { RodentError } from "../errors";
import { isAlive } from "../instance/identity";
import { readStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { findTarget, targetFlags, waitFor } from "./target";

export const reload: Command = {
  name: "reload",
  summary: "Reload the config file of the running instance and report whether it was applied.",
  flags: targetFlags,
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind !== "held") throw new RodentError(`rodent is not running (PID file ${pidPath}); start it with 'rodent serve'`);
    const pid = seen.holder.pid;
    const before = readStatus(pidPath)?.reload?.seq ?? 0;
    process.kill(pid, signalFor("reload"));
    // An instance that drains or exits records no outcome (it ignores SIGHUP once stopping): say so
    // as soon as that is seen instead of waiting out the bound.
    let ended: string | undefined;
    const outcome = () => {
      const record = readStatus(pidPath);
      const r = record?.reload;
      if (r && r.seq > before) return r;
      if (!isAlive(pid)) ended = "exited";
      else if (record?.state === "draining" || record?.state === "stopped") ended = "is shutting down";
      return undefined;
    };
    await waitFor(() => outcome() !== undefined || ended !== undefined, 10_000);
    const r = outcome();
    if (!r && ended) throw new RodentError(`rodent (PID ${pid}) ${ended}; nothing was reloaded`);
    if (!r) throw new RodentError(`rodent (PID ${pid}) did not report a reload outcome within 10 s; check its log`);
    if (!r.applied) {
      process.stderr.write(`reload rejected; the running config stays:\n  ${(r.errors ?? []).join("\n  ")}\n`);
      return EXIT.failure;
    }
    const record = readStatus(pidPath)!;
    process.stdout.write(
      `reload applied: config ${record.configHash} (generation ${record.generation})` +
        `${r.changed?.length ? `; changed ${r.changed.join(", ")}` : "; nothing changed"}` +
        `${r.restartNeeded?.length ? `; on the next restart: ${r.restartNeeded.join(", ")}` : ""}\n`,
    );
    return EXIT.ok;
  },
};
