// `rodent logs`: the last lines of the log file, and -f to follow it across rotation, in-process.
import { closeSync, fstatSync, readlinkSync, readSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { loadConfig } from "../config/load";
import { RodentError } from "../errors";
import { EXIT } from "../kernel/exit-codes";
import type { Command } from "./command";
import { logFileFlag } from "./config-flags";
import { controlConfigInput, findTarget, targetFlags } from "./target";
import { readStatusOf } from "../instance/status";
import { openSharedFile } from "../instance/shared-file";
import { logFilePath } from "./log-path";
import { JsonLines } from "./json-lines";
import { program } from "../program";

export const logs: Command = {
  name: "logs",
  summary: "Print the last lines of the log file; -f follows it, across rotation.",
  flags: {
    ...targetFlags,
    ...logFileFlag,
    lines: {
      type: "string", short: "n", value: "N", description: "how many lines (default 100)",
      parse: (raw) => {
        if (!/^\d+$/.test(raw)) throw new Error("expected a whole number");
        return Number(raw);
      },
    },
    follow: { type: "boolean", short: "f", description: "keep printing new lines until Ctrl-C" },
    json: { type: "boolean", description: "print JSON lines: a JSON log as it is; a text log is refused (exit 1)" },
  },
  async run({ flags }) {
    const { config } = await loadConfig(controlConfigInput(flags));
    // The running instance knows where it writes (a daemon writes a file even when logs.output is
    // stdout): its own record says, and the file there must be its own (see openLog).
    const { pidPath, seen } = await findTarget(flags);
    const owner = seen.kind === "held" && seen.holder.verdict.kind === "ours" ? { pid: seen.holder.pid, uid: seen.holder.verdict.uid } : undefined;
    const record = owner ? readStatusOf(pidPath, owner) : undefined;
    const recorded = record?.kind === "read" && typeof record.record.logFile === "string" ? record.record.logFile : undefined;
    // a relative path (--log-file rel.log) is relative to the instance's directory, not the caller's
    const live = recorded && owner ? inInstanceDir(owner.pid, recorded) : recorded;
    const named = (flags["log-file"] as string | undefined) ?? (live ? undefined : config.logs.output === "file" ? logFilePath(config) : undefined);
    const path = named ?? live;
    if (!path) {
      process.stderr.write(`${program().name} logs go to stdout (logs.output: stdout): read them where its output goes (journalctl, docker logs), or set logs.output: file\n`);
      return EXIT.failure;
    }
    // A path the caller named is theirs to trust as far as symlinks go; one from the record is not.
    const trust: LogTrust = named ? { follow: true } : { follow: false, ownerUid: owner!.uid };
    const fd = openLog(path, trust);
    const { text, end } = tail(fd, (flags.lines as number | undefined) ?? 100);
    const json = flags.json ? new JsonLines(path) : undefined;
    try {
      process.stdout.write(json ? json.push(text) : text);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    if (!flags.follow) {
      closeSync(fd);
      return EXIT.ok;
    }
    return follow(path, fd, end, trust, json);
  },
};

/** `path` resolved against the working directory of `pid` (from /proc) when relative. */
function inInstanceDir(pid: number, path: string): string {
  if (isAbsolute(path)) return path;
  try {
    return resolve(readlinkSync(`/proc/${pid}/cwd`), path);
  } catch {
    throw new RodentError(`the instance (PID ${pid}) writes its log to the relative path ${path}, and its directory cannot be read: run '${program().name} logs' as its user or root, or name the file with --log-file`);
  }
}

/** `logs -n` never holds more than this in memory, whatever the file (lines without end, a huge -n). */
const TAIL_MAX_BYTES = 64 * 1024 * 1024;

interface LogTrust {
  /** Follow a symlink at the path (one the caller named), else refuse it. */
  follow: boolean;
  /** The uid the file must belong to: the instance's, when the path came from its record. */
  ownerUid?: number;
}

/**
 * Opens the log without blocking and only as a regular file (never a FIFO, device or socket, which
 * would hang or never end), owned by the instance's uid when the path came from its status record:
 * another user who can write the log's directory cannot make this read their FIFO or, through a
 * symlink, a file only the caller may read. Anything else is one line naming the path and what it is.
 */
function openLog(path: string, trust: LogTrust): number {
  let opened;
  try {
    opened = openSharedFile(path, trust);
  } catch (error) {
    throw new RodentError(`cannot read log file ${path} (${(error as NodeJS.ErrnoException).code}): check logs.path or --log-file`);
  }
  if (opened.kind === "absent") throw new RodentError(`cannot read log file ${path} (ENOENT): check logs.path or --log-file`);
  if (opened.kind === "refused") {
    const fix = trust.follow ? "name the log file itself" : "it is not the instance's log: check who can write its directory, or name the file with --log-file";
    throw new RodentError(`log file ${path} is ${opened.why} and was not read: ${fix}`);
  }
  return opened.fd;
}

/** The last `n` lines of the file (at most TAIL_MAX_BYTES of it), read backwards in chunks, and the offset where the file ended. */
function tail(fd: number, n: number): { text: string; end: number } {
  const size = fstatSync(fd).size;
  const chunk = 64 * 1024;
  let start = size;
  let collected = Buffer.alloc(0);
  while (start > 0 && size - start < TAIL_MAX_BYTES && count(collected, 10) <= n) {
    const from = Math.max(0, start - chunk);
    const buffer = Buffer.alloc(start - from);
    readSync(fd, buffer, 0, buffer.length, from);
    collected = Buffer.concat([buffer, collected]);
    start = from;
  }
  if (n === 0) return { text: "", end: size };
  const lines = collected.toString("utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  const last = lines.slice(-n);
  return { text: last.length ? `${last.join("\n")}\n` : "", end: size };
}

function count(buffer: Buffer, byte: number): number {
  let c = 0;
  for (let i = buffer.indexOf(byte); i >= 0; i = buffer.indexOf(byte, i + 1)) c++;
  return c;
}

/**
 * Follows the file; when the path names a new file (rotation) or it shrank, reads on from the new
 * start. With `json`, what is read goes through it line by line.
 */
async function follow(path: string, first: number, offset: number, trust: LogTrust, json: JsonLines | undefined): Promise<number> {
  let fd = first;
  let position = offset;
  let stopped = false;
  const stop = () => (stopped = true);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // the reader is gone (`rodent logs -f | head`): EPIPE ends the follow, as SIGPIPE ends tail -f
  process.stdout.once("error", stop);
  const buffer = Buffer.alloc(64 * 1024);
  const drain = async () => {
    while (!stopped) {
      const n = readSync(fd, buffer, 0, buffer.length, position);
      if (n <= 0) return;
      position += n;
      // a copy: the stream may still hold the chunk when the buffer is read into again; and a slow
      // reader (`| less`) is waited for instead of queueing the whole file in memory
      const chunk = Buffer.from(buffer.subarray(0, n));
      if (!process.stdout.write(json ? json.push(chunk) : chunk)) await drained();
    }
  };
  while (!stopped && !process.stdout.destroyed) {
    await drain();
    const own = fstatSync(fd);
    if (own.size < position) position = 0; // truncated in place (copytruncate)
    let atPath;
    try {
      atPath = statSync(path);
    } catch {
      atPath = undefined; // moved away, not yet recreated
    }
    if (atPath && atPath.ino !== own.ino) {
      await drain();
      if (json) process.stdout.write(json.end());
      closeSync(fd);
      fd = openLog(path, trust);
      position = 0;
      continue;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  closeSync(fd);
  return EXIT.ok;
}

/** Resolves when stdout takes more, or failed (the reader is gone), or on Ctrl-C. */
function drained(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.stdout.off("drain", done).off("error", done);
      process.off("SIGINT", done).off("SIGTERM", done);
      resolve();
    };
    process.stdout.once("drain", done).once("error", done);
    process.once("SIGINT", done).once("SIGTERM", done);
  });
}
