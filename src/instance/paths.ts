// Where an instance keeps its PID file, its status record and (by default) its log, for root and
// for an ordinary user alike.
import { homedir } from "node:os";
import { join, resolve } from "node:path";

const isRoot = () => process.getuid?.() === 0;

/** --pid-file, else RODENT_PID_PATH, else server.pidFile, else the default for this user. */
export function resolvePidPath(flag: string | undefined, env: Record<string, string | undefined>, configured: string | undefined): string {
  const chosen = flag ?? env.RODENT_PID_PATH ?? configured;
  if (chosen) return resolve(chosen);
  if (isRoot()) return "/run/rodent/rodent.pid";
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "rodent", "rodent.pid");
  return join(homedir(), ".rodent", "rodent.pid");
}

/** The log file when logs go to a file and no path is configured. */
export function defaultLogPath(): string {
  return isRoot() ? "/var/log/rodent/rodent.log" : join(homedir(), ".rodent", "rodent.log");
}

/** The live status record of the instance that holds `pidPath`. */
export function statusPath(pidPath: string): string {
  return `${pidPath}.status`;
}
