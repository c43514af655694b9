// Which instance a control command talks to: the PID file from --pid-file, <NAME>_PID_PATH, the
// config's server.pidFile, or the default, and what is found there.
import { loadConfig } from "../config/load";
import { inspectPidFile, PidFileForeignError, type Inspection } from "../instance/lock";
import { resolvePidPath } from "../instance/paths";
import { pidPathVariable } from "../program";
import type { Flag } from "./command";
import { configFileFlag, pidFileFlag } from "./config-flags";

export const targetFlags: Record<string, Flag> = { ...pidFileFlag, ...configFileFlag };

export interface Target {
  pidPath: string;
  seen: Inspection;
}

export async function findTarget(flags: Record<string, unknown>): Promise<Target> {
  // the flag and the variable make reading the config needless (and a broken one harmless)
  const chosen = (flags["pid-file"] as string | undefined) ?? process.env[pidPathVariable()] ??
    (await loadConfig({ file: flags.config as string | undefined, env: { ...process.env }, flags: {} })).config.server.pidFile;
  const pidPath = resolvePidPath(chosen, process.env);
  const seen = inspectPidFile(pidPath);
  if (seen.kind === "foreign") throw new PidFileForeignError(pidPath, seen.what);
  return { pidPath, seen };
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
