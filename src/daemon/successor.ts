// Starting a restart's successor: the executable now on disk, run as the instance was started
// (arguments, environment, directory, from /proc), detached, and reporting readiness on a pipe.
// The instance starts its own (SIGUSR2); `rodent restart` starts one only for an instance of its
// own user that an older rodent started.
import { closeSync, constants, openSync, readFileSync, readlinkSync } from "node:fs";
import { RodentError } from "../errors";
import { DAEMON_FD_ENV, HANDOVER_ENV, type HandedOverListener, TAKEOVER_ENV } from "./channel";
import { spawnDetached } from "./detach";

export interface SuccessorOptions {
  /** The instance being replaced: its /proc entry says how to start the successor. */
  of: number;
  /** Where the successor's stdout and stderr go: "inherit" (the replaced instance itself starts it) or the replaced instance's own, reopened. */
  output: "inherit" | "reopen";
  /** The listening socket to pass on (the Node bundle on TCP), with the address it was configured as. */
  listener?: HandedOverListener & { fd: number };
  /** Aborting stops a successor that is not ready yet. */
  signal?: AbortSignal;
  /** Where to look when it fails, for the error message. */
  logHint: string;
}

/**
 * Starts the successor and resolves with its PID and address once it is ready, which means it has
 * also taken the PID file over and told the old instance to drain. Throws a RodentError with the
 * successor's own error if it fails, crashes or is not ready within 30 s; the old one is untouched.
 */
export async function startSuccessor(options: SuccessorOptions): Promise<{ pid: number; address: string }> {
  const { exe, argv, cwd, env } = startedAs(options.of);
  for (const key of [DAEMON_FD_ENV, HANDOVER_ENV, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "BUN_BE_BUN"]) delete env[key];
  env[TAKEOVER_ENV] = String(options.of);
  const extraFds: number[] = [];
  if (options.listener) {
    // fd 3 is the readiness pipe; the socket follows it at fd 4
    env[HANDOVER_ENV] = JSON.stringify({ fd: 4, host: options.listener.host, port: options.listener.port });
    extraFds.push(options.listener.fd);
  }
  const stdout = options.output === "inherit" ? "inherit" as const : reopen(options.of, 1);
  let stderr: number | "inherit";
  try {
    stderr = options.output === "inherit" ? "inherit" : reopen(options.of, 2);
  } catch (error) {
    if (typeof stdout === "number") closeSync(stdout);
    throw error;
  }
  return spawnDetached({
    command: exe,
    args: argv.slice(1),
    env,
    cwd,
    stdout,
    stderr,
    extraFds,
    signal: options.signal,
    readyTimeoutMs: 30_000,
    logHint: options.logHint,
  });
}

/** How `pid` was started: the executable now at its path, its arguments, environment and directory. */
function startedAs(pid: number): { exe: string; argv: string[]; cwd: string; env: NodeJS.ProcessEnv } {
  const proc = (what: string) => `/proc/${pid}/${what}`;
  try {
    // /proc/PID/environ is the environment the process was started with, before it removed the
    // variables meant only for itself (NOTIFY_SOCKET and the like): what a successor needs.
    const environ = readFileSync(proc("environ"), "utf8").split("\0").filter(Boolean);
    return {
      exe: readlinkSync(proc("exe")).replace(/ \(deleted\)$/, ""),
      argv: readFileSync(proc("cmdline"), "utf8").split("\0").filter(Boolean),
      cwd: readlinkSync(proc("cwd")),
      env: Object.fromEntries(environ.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
    };
  } catch (error) {
    throw new RodentError(`cannot read how PID ${pid} was started (${(error as NodeJS.ErrnoException).code}): run restart as the same user, on Linux`);
  }
}

/**
 * The successor writes where the old one writes: its stdout or stderr, reopened through /proc.
 * A socket (the journal's) cannot be reopened by path: refused rather than silencing the successor.
 */
function reopen(pid: number, fd: 1 | 2): number {
  const name = fd === 1 ? "stdout" : "stderr";
  try {
    return openSync(`/proc/${pid}/fd/${fd}`, constants.O_WRONLY | constants.O_APPEND);
  } catch (error) {
    throw new RodentError(`cannot give the new instance PID ${pid}'s ${name} (${(error as NodeJS.ErrnoException).code}: a socket, such as the journal's, cannot be reopened): stop it and start it again (systemctl restart)`);
  }
}
