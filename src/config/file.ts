// Reads a config file without trusting what is at its path: a FIFO cannot hang the caller, a device
// or a huge file cannot exhaust memory, and every refusal is one problem naming the file.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import type { Problem } from "./load";
import { program } from "../program";

/** A config file larger than this is refused unread: a real one is a few KiB, and parsing is linear but not free. */
export const MAX_FILE_BYTES = 256 * 1024;

/** What went wrong reading the file; `missing` tells a file that is not there from the rest. */
export interface FileFailure {
  problem: Problem;
  missing: boolean;
}

/**
 * The text of the config file at `path`, or the reason it cannot be used. The path may be a
 * symlink (a Kubernetes ConfigMap is one), but what it names must be a regular file of at most
 * MAX_FILE_BYTES; "/dev/null" reads as an empty file, the usual way to say "no file".
 * Opened with O_NONBLOCK, so a FIFO is refused at once instead of waiting for a writer.
 * `ownerUid` is the owner of the file the text was read from (fstat on the same descriptor).
 */
export function readConfigFile(path: string): { text: string; ownerUid: number | undefined } | FileFailure {
  if (path === "/dev/null") return { text: "", ownerUid: undefined };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return refuse(path, openFailure(code), code === "ENOENT" || code === "ENOTDIR");
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return refuse(path, "is a directory: name the YAML file in it");
    if (!stat.isFile()) return refuse(path, "is not a regular file (a FIFO, socket or device): name a YAML file");
    if (stat.size > MAX_FILE_BYTES) return refuse(path, tooBig(stat.size));
    // the file may grow between fstat and read: never read past the cap. Sized to the file (a few
    // KiB), not the cap: 256 KiB zeroed at start-up would stay in the process's private memory.
    let buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      length += n;
      if (n === 0 || length > MAX_FILE_BYTES) break;
      if (length === buffer.length) buffer = Buffer.concat([buffer, Buffer.alloc(Math.min(buffer.length, MAX_FILE_BYTES + 1 - length))]);
    }
    if (length > MAX_FILE_BYTES) return refuse(path, tooBig(length));
    return { text: buffer.toString("utf8", 0, length), ownerUid: stat.uid };
  } catch (error) {
    return refuse(path, `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  } finally {
    closeSync(fd);
  }
}

function refuse(path: string, message: string, missing = false): FileFailure {
  return { problem: { source: path, key: "(file)", message }, missing };
}

function openFailure(code: string | undefined): string {
  if (code === "ENOENT" || code === "ENOTDIR") return "no such file";
  if (code === "EACCES" || code === "EPERM") return `permission denied: make it readable by the user ${program().name} runs as (uid ${process.getuid?.() ?? "?"})`;
  if (code === "ELOOP") return "too many levels of symlinks: name the file itself";
  return `cannot open (${code ?? "unknown error"})`;
}

function tooBig(bytes: number): string {
  return `is ${Math.ceil(bytes / 1024)} KiB; the cap for a config file is ${MAX_FILE_BYTES / 1024} KiB: is this the right file?`;
}
