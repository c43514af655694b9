// Reading a PID file that may sit in a shared directory: without following a symlink, without
// blocking on a FIFO, at most a few bytes, and only a regular file that holds one PID.
import type { Stats } from "node:fs";
import { readSharedFile } from "./shared-file";

/** "4194304\n" is 8 bytes; anything much longer is not a PID file. */
const PID_FILE_MAX_BYTES = 32;

export type PidFileRead =
  | { kind: "absent" }
  | { kind: "pid"; pid: number; stat: Stats }
  | { kind: "empty"; stat: Stats }
  | { kind: "foreign"; what: string };

/**
 * What is at `path`: nothing, one PID, an empty file (a writer killed between create and write),
 * or something that is not a PID file (`what` says what). Throws only when the path itself
 * cannot be looked at (EACCES on its directory); the caller names the fix.
 */
export function readPidFile(path: string): PidFileRead {
  const file = readSharedFile(path, { maxBytes: PID_FILE_MAX_BYTES });
  if (file.kind === "absent") return file;
  if (file.kind === "refused") return { kind: "foreign", what: file.why.startsWith("larger") ? "a file that does not hold a PID" : file.why };
  if (file.text.trim() === "") return { kind: "empty", stat: file.stat };
  if (!/^\d{1,10}\n?$/.test(file.text) || Number(file.text) < 1) return { kind: "foreign", what: "a file that does not hold a PID" };
  return { kind: "pid", pid: Number(file.text), stat: file.stat };
}
