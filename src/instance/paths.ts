// Where an instance keeps its PID file, its status record and (by default) its log, for root and
// for an ordinary user alike.
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { program } from "../program";

const isRoot = () => process.getuid?.() === 0;

/**
 * The PID file: `chosen` (server.pidFile, which --pid-file and <NAME>_PID_PATH set, in that
 * order) made absolute, else the default for this user: /run/<name>/<name>.pid as root,
 * $XDG_RUNTIME_DIR/<name>/<name>.pid, ~/.<name>/<name>.pid.
 */
export function resolvePidPath(chosen: string | undefined, env: Record<string, string | undefined>): string {
  if (chosen) return resolve(chosen);
  const { name } = program();
  if (isRoot()) return `/run/${name}/${name}.pid`;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, name, `${name}.pid`);
  return join(homedir(), `.${name}`, `${name}.pid`);
}

/** The log file when logs go to a file and no path is configured. */
export function defaultLogPath(): string {
  const { name } = program();
  return isRoot() ? `/var/log/${name}/${name}.log` : join(homedir(), `.${name}`, `${name}.log`);
}

/**
 * The app's data directory (not created): the first of systemd's $STATE_DIRECTORY (set by
 * StateDirectory=), /var/lib/<name> as root, $XDG_DATA_HOME/<name>, ~/.<name>. Relative values
 * of the variables are ignored, as the XDG spec says.
 */
export function dataDir(env: Record<string, string | undefined> = process.env): string {
  const { name } = program();
  const state = env.STATE_DIRECTORY?.split(":")[0];
  if (state && isAbsolute(state)) return state;
  if (isRoot()) return `/var/lib/${name}`;
  if (env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME)) return join(env.XDG_DATA_HOME, name);
  return join(homedir(), `.${name}`);
}

/** The live status record of the instance that holds `pidPath`. */
export function statusPath(pidPath: string): string {
  return `${pidPath}.status`;
}
