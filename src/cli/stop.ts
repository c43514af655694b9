// `rodent stop`: signal our own instance (never a stranger) and wait until it is gone.
import { lstatSync, unlinkSync } from "node:fs";
import { ms, parseDuration } from "../config/duration";
import { RodentError } from "../errors";
import { isAlive } from "../instance/identity";
import { readStatus, removeStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { findTarget, targetFlags, waitFor } from "./target";
import { program } from "../program";

export const stop: Command = {
  name: "stop",
  summary: "Stop the running instance gracefully and wait until it has exited.",
  flags: {
    ...targetFlags,
    timeout: {
      type: "string", value: "DURATION", description: "how long to wait for the exit (default 30s)",
      parse: (raw) => {
        if (parseDuration(raw) === undefined) throw new Error("expected a duration like 30s");
        return raw;
      },
    },
    force: { type: "boolean", description: "after the timeout, SIGKILL it and remove its PID file" },
  },
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind === "absent") {
      process.stdout.write(`${program().name} is not running (no PID file at ${pidPath})\n`);
      return EXIT.ok;
    }
    if (seen.kind === "stale") {
      removeIfUnchanged(pidPath, seen.ino);
      process.stdout.write(`${program().name} is not running (${seen.why}); removed the stale PID file ${pidPath}\n`);
      return EXIT.ok;
    }
    if (seen.kind !== "held") return EXIT.failure;
    const { pid, ino } = seen.holder;
    const started = Date.now();
    // A second SIGTERM would force an instance that is already draining: just wait for it.
    if (readStatus(pidPath)?.state !== "draining") process.kill(pid, signalFor("stop"));
    const timeoutMs = ms((flags.timeout as string | undefined) ?? "30s");
    if (await waitFor(() => !isAlive(pid), timeoutMs)) {
      process.stdout.write(`${program().name} stopped (PID ${pid}) in ${Date.now() - started} ms\n`);
      return EXIT.ok;
    }
    if (!flags.force) {
      throw new RodentError(`${program().name} (PID ${pid}) did not exit within ${timeoutMs} ms; it may still be draining: wait, or use --force to SIGKILL it`);
    }
    process.kill(pid, "SIGKILL");
    await waitFor(() => !isAlive(pid), 5000);
    removeIfUnchanged(pidPath, ino);
    removeStatus(pidPath, pid);
    process.stdout.write(`${program().name} (PID ${pid}) did not exit within ${timeoutMs} ms: killed it and removed ${pidPath}\n`);
    return EXIT.ok;
  },
};

function removeIfUnchanged(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // gone already
  }
}
