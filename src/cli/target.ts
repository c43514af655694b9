// Which instance a control command talks to: the PID file from --pid-file, <NAME>_PID_PATH, the
// config's server.pidFile, or the default, and what is found there; and how to signal it safely.
import { loadConfig, type ConfigInput } from "../config/load";
import { RodentError } from "../errors";
import { assertMaySignal } from "../instance/identity";
import { inspectPidFile, PidFileForeignError, type Holder, type Inspection } from "../instance/lock";
import { resolvePidPath } from "../instance/paths";
import type { Flag } from "./command";
import { controlConfigFlag, pidFileFlag } from "./config-flags";
import { pidPathVariable, program } from "../program";

export const targetFlags: Record<string, Flag> = { ...pidFileFlag, ...controlConfigFlag };

export interface Target {
  pidPath: string;
  seen: Inspection;
}

export async function findTarget(flags: Record<string, unknown>): Promise<Target> {
  // the flag and the variable make reading the config needless (and a broken one harmless)
  const chosen = (flags["pid-file"] as string | undefined) ?? process.env[pidPathVariable()] ?? (await loadConfig(controlConfigInput(flags))).config.server.pidFile;
  const pidPath = resolvePidPath(chosen, process.env);
  const seen = inspectPidFile(pidPath);
  if (seen.kind === "foreign") throw new PidFileForeignError(pidPath, seen.what);
  return { pidPath, seen };
}

/**
 * Sends `signal` to the holder only if this user may: the same uid, or root for an instance that
 * runs our executable (identity.assertMaySignal); never to an instance that could not be verified.
 * A refusal, or the kernel's EPERM, is one line naming who may do it; `verb` is the command ("stop").
 */
export function signalHolder(holder: Holder, signal: NodeJS.Signals, verb: string): void {
  assertMaySignal(holder.pid, holder.verdict, verb);
  try {
    process.kill(holder.pid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") throw new RodentError(`${program().name} (PID ${holder.pid}) exited before it could be sent ${signal}; nothing to ${verb}`);
    throw new RodentError(`cannot send ${signal} to ${program().name} (PID ${holder.pid}): ${code === "EPERM" ? `it runs as uid ${holder.verdict.uid}: run '${program().name} ${verb}' as that user or root` : code}`);
  }
}

/**
 * The config input of a control command: only a file named by -c or <NAME>_CONFIG, or one at the
 * fixed per-user and system paths, never ./<name>.yml (see locateConfigFile).
 */
export function controlConfigInput(flags: Record<string, unknown>, overrides: Record<string, unknown> = {}): ConfigInput {
  return { file: flags.config as string | undefined, env: { ...process.env }, flags: overrides, discovery: "control" };
}

/** Polls `done` every 20 ms until it is true or `timeoutMs` passes; true if it became true. */
export async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
