// `rodent stop`: signal our own instance (never a stranger) and wait until it is gone, as long as
// the instance's own shutdown deadline allows.
import { lstatSync, unlinkSync } from "node:fs";
import { ms, parseDuration } from "../config/duration";
import { DURATION_BOUNDS } from "../config/schema";
import { RodentError } from "../errors";
import { assertMaySignal, isAlive } from "../instance/identity";
import { readStatusOf, removeStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { signalFor } from "../kernel/signals";
import type { Command } from "./command";
import { finish, jsonFlag } from "./outcome";
import { findTarget, signalHolder, targetFlags, waitFor } from "./target";
import { program } from "../program";

/** Without a status record (or an older instance's), wait this long. */
const DEFAULT_WAIT_MS = 30_000;
/** Beyond the instance's own server.shutdownTimeout: its last cleanups, log flush and exit. */
const EXIT_MARGIN_MS = 5_000;

export const stop: Command = {
  name: "stop",
  summary: "Stop the running instance gracefully and wait until it has exited.",
  flags: {
    ...targetFlags,
    timeout: {
      type: "string", value: "DURATION", description: "how long to wait for the exit (default: the instance's server.shutdownTimeout + 5s, else 30s)",
      parse: (raw) => {
        if (parseDuration(raw) === undefined) throw new Error("expected a duration like 30s");
        return raw;
      },
    },
    force: { type: "boolean", description: "after the timeout, SIGKILL it and remove its PID file" },
    ...jsonFlag,
  },
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind === "absent") {
      return finish("stop", flags, EXIT.ok, { text: `${program().name} is not running (no PID file at ${pidPath})`, fields: { pidFile: pidPath, running: false } });
    }
    if (seen.kind === "stale") {
      const me = process.geteuid?.() ?? -1;
      if (seen.liveStranger && seen.ownerUid !== me) {
        // Someone else's file naming a live process that is not rodent: touch neither.
        throw new RodentError(`the PID file ${pidPath} belongs to uid ${seen.ownerUid} and names a process that is not ${program().name} (${seen.why}); nothing was signalled and the file was left alone: remove it if it is stale`);
      }
      const removed = removeIfUnchanged(pidPath, seen.ino);
      return finish("stop", flags, EXIT.ok, {
        text: `${program().name} is not running (${seen.why}); ${removed ? `removed the stale PID file ${pidPath}` : `could not remove the stale PID file ${pidPath} (${removed === false ? "permission denied" : "changed meanwhile"}): remove it as its owner (uid ${seen.ownerUid})`}`,
        fields: { pidFile: pidPath, running: false, stale: true, why: seen.why, removed: removed === true },
      });
    }
    if (seen.kind !== "held") return EXIT.failure;
    const { holder } = seen;
    const { pid, ino } = holder;
    const owner = { pid, uid: holder.verdict.uid };
    const read = readStatusOf(pidPath, owner);
    const record = read.kind === "read" ? read.record : undefined;
    const started = Date.now();
    const { timeoutMs, source } = waitBudget(flags.timeout as string | undefined, record?.shutdownTimeoutMs);
    // A second SIGTERM would force an instance that is already draining: just wait for it.
    if (record?.state === "draining") assertMaySignal(pid, holder.verdict, "stop");
    else signalHolder(holder, signalFor("stop"), "stop");
    if (await waitFor(() => !isAlive(pid), timeoutMs)) {
      const tookMs = Date.now() - started;
      return finish("stop", flags, EXIT.ok, { text: `${program().name} stopped (PID ${pid}) in ${tookMs} ms`, fields: { pidFile: pidPath, pid, stopped: true, killed: false, durationMs: tookMs } });
    }
    if (!flags.force) {
      throw new RodentError(`${program().name} (PID ${pid}) did not exit within ${timeoutMs} ms (${source}); it may still be draining: wait, or use --force to SIGKILL it`);
    }
    signalHolder(holder, "SIGKILL", "stop");
    await waitFor(() => !isAlive(pid), 5000);
    removeIfUnchanged(pidPath, ino);
    removeStatus(pidPath, owner);
    return finish("stop", flags, EXIT.ok, {
      text: `${program().name} (PID ${pid}) did not exit within ${timeoutMs} ms: killed it and removed ${pidPath}`,
      fields: { pidFile: pidPath, pid, stopped: true, killed: true, durationMs: Date.now() - started },
    });
  },
};

/** The longest server.shutdownTimeout the schema accepts: a record claiming more was not written by rodent. */
const MAX_SHUTDOWN_MS = ms(DURATION_BOUNDS["server.shutdownTimeout"][1]);

/**
 * --timeout wins; else the instance's own shutdown deadline (from its status record, which its
 * user can write: never more than the schema allows) plus a margin; else DEFAULT_WAIT_MS.
 */
export function waitBudget(flag: string | undefined, shutdownTimeoutMs: number | undefined): { timeoutMs: number; source: string } {
  if (flag !== undefined) return { timeoutMs: ms(flag), source: "--timeout" };
  if (typeof shutdownTimeoutMs === "number" && Number.isFinite(shutdownTimeoutMs) && shutdownTimeoutMs >= 0 && shutdownTimeoutMs <= MAX_SHUTDOWN_MS) {
    return { timeoutMs: shutdownTimeoutMs + EXIT_MARGIN_MS, source: `its server.shutdownTimeout of ${shutdownTimeoutMs} ms + ${EXIT_MARGIN_MS} ms` };
  }
  return { timeoutMs: DEFAULT_WAIT_MS, source: "the default; the instance recorded no shutdown timeout" };
}

/** True when removed; false when not permitted; undefined when it changed or vanished meanwhile. */
function removeIfUnchanged(path: string, ino: number): boolean | undefined {
  try {
    if (lstatSync(path).ino !== ino) return undefined;
    unlinkSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return true;
    return code === "EPERM" || code === "EACCES" ? false : undefined;
  }
}
