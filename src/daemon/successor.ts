// Starting a restart's successor: the executable now on disk, run as the instance was started
// (arguments, environment, directory, from /proc), detached, and reporting readiness on a pipe.
import { constants, openSync, readFileSync, readlinkSync } from "node:fs";
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
  const output = (fd: number) => (options.output === "inherit" ? "inherit" as const : reopen(`/proc/${options.of}/fd/${fd}`));
  return spawnDetached({
    command: exe,
    args: argv.slice(1),
    env,
    cwd,
    stdout: output(1),
    stderr: output(2),
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

/** The successor writes where the old one writes: its stdout or stderr, reopened through /proc. */
function reopen(path: string): number {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_APPEND);
  } catch {
    // a socket (the journal) cannot be reopened by path
    return openSync("/dev/null", constants.O_WRONLY);
  }
}
