// `rodent reload`: SIGHUP, then wait for the instance to record the outcome and report it.
import { RodentError } from "../errors";
import { isAlive } from "../instance/identity";
import { readStatusOf, type StatusRecord } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { oneLine } from "../log/escape";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { finish, jsonFlag } from "./outcome";
import { findTarget, signalHolder, targetFlags, waitFor } from "./target";
import { program } from "../program";

export const reload: Command = {
  name: "reload",
  summary: "Reload the config file of the running instance and report whether it was applied.",
  flags: { ...targetFlags, ...jsonFlag },
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind !== "held") throw new RodentError(`${program().name} is not running (PID file ${pidPath}); start it with '${program().name} serve'`);
    const { holder } = seen;
    const pid = holder.pid;
    // only the instance's own record counts: owned by its uid, naming its PID (never a planted file)
    const owner = { pid, uid: holder.verdict.uid };
    const record = (): StatusRecord | undefined => {
      const read = readStatusOf(pidPath, owner);
      return read.kind === "read" ? read.record : undefined;
    };
    const first = readStatusOf(pidPath, owner);
    const before = first.kind === "read" ? (first.record.reload?.seq ?? 0) : 0;
    signalHolder(holder, signalFor("reload"), "reload");
    if (first.kind === "refused") {
      // something else squats the record's path: the instance cannot publish an outcome there
      throw new RodentError(`sent SIGHUP to ${program().name} (PID ${pid}), but its outcome cannot be read: its status record ${first.why.replace(/^\S+ /, "")}; check its log`);
    }
    // An instance that drains or exits records no outcome (it ignores SIGHUP once stopping): say so
    // as soon as that is seen instead of waiting out the bound.
    let ended: string | undefined;
    const outcome = () => {
      const now = record();
      const r = now?.reload;
      if (r && r.seq > before) return r;
      if (!isAlive(pid)) ended = "exited";
      else if (now?.state === "draining" || now?.state === "stopped") ended = "is shutting down";
      return undefined;
    };
    await waitFor(() => outcome() !== undefined || ended !== undefined, 10_000);
    const r = outcome();
    if (!r && ended) throw new RodentError(`${program().name} (PID ${pid}) ${ended}; nothing was reloaded`);
    if (!r) throw new RodentError(`${program().name} (PID ${pid}) did not report a reload outcome within 10 s; check its log`);
    if (!r.applied) {
      const errors = r.errors ?? [];
      return finish("reload", flags, EXIT.failure, {
        text: `reload rejected; the running config stays:\n  ${errors.map(oneLine).join("\n  ")}`,
        error: "reload rejected; the running config stays",
        fields: { pid, applied: false, errors },
      });
    }
    const now = record();
    return finish("reload", flags, EXIT.ok, {
      text:
        `reload applied: config ${now?.configHash} (generation ${now?.generation})` +
        `${r.changed?.length ? `; changed ${r.changed.join(", ")}` : "; nothing changed"}` +
        `${r.restartNeeded?.length ? `; on the next restart: ${r.restartNeeded.join(", ")}` : ""}`,
      fields: { pid, applied: true, config: now?.configHash ?? null, generation: now?.generation ?? null, changed: r.changed ?? [], restartNeeded: r.restartNeeded ?? [] },
    });
  },
};
