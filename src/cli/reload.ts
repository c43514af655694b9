// `rodent reload`: SIGHUP, then wait for the instance to record the outcome and report it.
import { RodentError } from "../errors";
import { readStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { findTarget, targetFlags, waitFor } from "./target";
import { program } from "../program";

export const reload: Command = {
  name: "reload",
  summary: "Reload the config file of the running instance and report whether it was applied.",
  flags: targetFlags,
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind !== "held") throw new RodentError(`${program().name} is not running (PID file ${pidPath}); start it with '${program().name} serve'`);
    const before = readStatus(pidPath)?.reload?.seq ?? 0;
    process.kill(seen.holder.pid, signalFor("reload"));
    const outcome = () => {
      const r = readStatus(pidPath)?.reload;
      return r && r.seq > before ? r : undefined;
    };
    if (!(await waitFor(() => outcome() !== undefined, 10_000))) {
      throw new RodentError(`${program().name} (PID ${seen.holder.pid}) did not report a reload outcome within 10 s; check its log`);
    }
    const r = outcome()!;
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
