// `rodent reopen`: SIGUSR1 to our own instance (never a stranger), so it reopens its log file at
// its path after logrotate moved the old one away.
import { RodentError } from "../errors";
import { EXIT } from "../kernel/exit-codes";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { finish, jsonFlag } from "./outcome";
import { findTarget, signalHolder, targetFlags } from "./target";
import { program } from "../program";

export const reopen: Command = {
  name: "reopen",
  summary: "Tell the running instance to reopen its log file (after logrotate moved it).",
  flags: { ...targetFlags, ...jsonFlag },
  details: "Sends SIGUSR1 after the same identity checks as stop and reload; the instance reopens the file at its configured path.",
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind !== "held") throw new RodentError(`${program().name} is not running (PID file ${pidPath}); start it with '${program().name} serve'`);
    signalHolder(seen.holder, signalFor("reopen"), "reopen");
    const { pid } = seen.holder;
    return finish("reopen", flags, EXIT.ok, { text: `asked ${program().name} (PID ${pid}) to reopen its log file (SIGUSR1)`, fields: { pid, signal: "SIGUSR1" } });
  },
};
