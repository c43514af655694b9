// The parent side of `serve -d`: re-spawn this program detached, then wait for the child to say
// it is ready (or why it is not) on a pipe, never on a sleep.
import { closeSync, constants, openSync } from "node:fs";
import { program } from "../program";
import { RodentError } from "../errors";
import { programScript } from "../instance/identity";
import { DAEMON_FD_ENV, type Handshake } from "./channel";

export class DaemonStartError extends RodentError {}

export interface DetachOptions {
  /** Arguments for the child after the program (and script), e.g. ["serve", "-d", "--pid-file", "/abs"]. */
  args: string[];
  /** The child's stdout and stderr go here (appended). */
  logFile: string;
  readyTimeoutMs: number;
}

/** Spawns the daemon and resolves with its PID and address once it is ready; throws with its error otherwise. */
export async function detach(options: DetachOptions): Promise<{ pid: number; address: string }> {
  let out: number;
  try {
    // never through a symbolic link: in a shared directory another user could point it at any file
    out = openSync(options.logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o640);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw new DaemonStartError(`log file ${options.logFile} is a symbolic link, which ${program().name} does not write through: name the file itself with --log-file`);
    throw new DaemonStartError(`cannot open log file ${options.logFile} (${code}): choose another --log-file`);
  }
  return spawnDetached({
    command: process.execPath,
    args: [...[programScript()].filter((s): s is string => s !== undefined), ...options.args],
    env: { ...process.env },
    cwd: "/",
    stdout: out,
    stderr: out,
    readyTimeoutMs: options.readyTimeoutMs,
    logHint: options.logFile,
  });
}

export interface SpawnDetachedOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Descriptors for the child's stdout and stderr, closed here once the child has them; or this process's own. */
  stdout: number | "inherit";
  stderr: number | "inherit";
  /** More descriptors for the child, at fd 4 onwards (fd 3 is the readiness pipe); left open here. */
  extraFds?: number[];
  /** Aborting before the child is ready stops it (SIGTERM) and fails with the abort's reason. */
  signal?: AbortSignal;
  readyTimeoutMs: number;
  /** Where to look when it fails, for the error message. */
  logHint: string;
}

/**
 * Starts a rodent in a new session with the readiness pipe on fd 3 and waits for its hand-shake:
 * its PID and address once ready, or a DaemonStartError with its own error.
 */
export async function spawnDetached(options: SpawnDetachedOptions): Promise<{ pid: number; address: string }> {
  const { spawn } = await import("node:child_process");
  const env: NodeJS.ProcessEnv = { ...options.env, [DAEMON_FD_ENV]: "3" };
  // A compiled binary turns into the bun CLI when BUN_BE_BUN is set: never pass it on.
  delete env.BUN_BE_BUN;
  const child = spawn(options.command, options.args, {
    detached: true,
    cwd: options.cwd,
    env,
    stdio: ["ignore", options.stdout, options.stderr, "pipe", ...(options.extraFds ?? [])],
  });
  for (const fd of new Set([options.stdout, options.stderr])) if (typeof fd === "number") closeSync(fd);
  const pipe = child.stdio[3]!;
  let onAbort = () => {};
  const message = await new Promise<Handshake | { kind: "exited"; how: string } | { kind: "timeout" } | { kind: "aborted" }>((resolve) => {
    let text = "";
    const timer = setTimeout(() => resolve({ kind: "timeout" }), options.readyTimeoutMs);
    onAbort = () => {
      clearTimeout(timer);
      resolve({ kind: "aborted" });
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    pipe.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split("\n")[0];
      if (text.includes("\n") && line) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as Handshake);
        } catch {
          resolve({ kind: "failed", message: `unreadable hand-shake from the daemon: ${line}` });
        }
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      // give a message written just before exit the chance to arrive first
      setTimeout(() => resolve({ kind: "exited", how: signal ? `was killed by ${signal}` : `exited (code ${code})` }), 50);
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ kind: "failed", message: `cannot start the daemon: ${error.message}` });
    });
  });
  options.signal?.removeEventListener("abort", onAbort);
  pipe.destroy();
  child.unref();
  const stopChild = () => {
    try {
      if (child.pid && child.exitCode === null) process.kill(child.pid, "SIGTERM");
    } catch {
      // gone meanwhile
    }
  };
  switch (message.kind) {
    case "ready":
      return { pid: message.pid, address: message.address };
    case "failed":
      throw new DaemonStartError(message.message);
    case "exited":
      throw new DaemonStartError(`the daemon ${message.how} before it was ready; see ${options.logHint}`);
    case "aborted":
      stopChild();
      throw new DaemonStartError(`stopped before it was ready: ${String(options.signal?.reason ?? "aborted")}`);
    case "timeout":
      stopChild();
      throw new DaemonStartError(`the daemon was not ready within ${options.readyTimeoutMs} ms and was stopped; see ${options.logHint}`);
  }
}
