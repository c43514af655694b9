// What `rodent restart` must prove before it asks a process to start a successor: that the process
// runs this very program (the same file, or after an upgrade the file now at the path it was
// started from), and who it runs as. The lock's own "is this rodent?" lives in instance/identity.ts;
// this check is stricter on purpose: a restart makes the instance run a program again.
import { readFileSync, readlinkSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { programScript } from "../instance/identity";

export interface Verdict {
  ok: boolean;
  /** What the process runs, for an error message: "/usr/bin/dash /tmp/x/rodent". */
  runs: string;
}

/**
 * Whether `pid` runs the program this process runs. Compiled, that is the executable; under a
 * runtime (node dist/rodent.mjs) the same interpreter and the same script. A file counts as the
 * same when its device and inode match, either the one the process has open (/proc/PID/exe) or,
 * when that was replaced (" (deleted)": an upgrade), the one now at the path it was started from.
 * A script is not held open, so the file now at its path is compared. Never true without /proc.
 */
export function runsThisProgram(pid: number): Verdict {
  const proc = (what: string) => `/proc/${pid}/${what}`;
  let exeLink: string;
  let cmdline: string[];
  let cwd: string;
  try {
    exeLink = readlinkSync(proc("exe"));
    cmdline = readFileSync(proc("cmdline"), "utf8").split("\0").filter(Boolean);
    cwd = readlinkSync(proc("cwd"));
  } catch {
    return { ok: false, runs: "(unknown: /proc not readable)" };
  }
  const mine = programScript();
  const script = mine === undefined ? undefined : scriptOf(cmdline);
  const runs = [exeLink, ...(script ? [script] : [])].join(" ");
  const exeMatches = sameFile(proc("exe"), process.execPath) || (exeLink.endsWith(" (deleted)") && sameFile(exeLink.slice(0, -" (deleted)".length), process.execPath));
  if (!exeMatches) return { ok: false, runs };
  if (mine === undefined) return { ok: true, runs };
  return { ok: script !== undefined && sameFile(resolve(cwd, script), resolve(mine)), runs };
}

/** The process's real and effective uid and gid from /proc/PID/status; undefined if unreadable. */
export function ownerOf(pid: number): { uid: number; euid: number; gid: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    const gids = /^Gid:\s+(\d+)/m.exec(status);
    if (!uids || !gids) return undefined;
    return { uid: Number(uids[1]), euid: Number(uids[2]), gid: Number(gids[1]) };
  } catch {
    return undefined;
  }
}

/** The script a runtime was given: the first argument after the interpreter that is not an option. */
function scriptOf(cmdline: string[]): string | undefined {
  return cmdline.slice(1).find((arg) => !arg.startsWith("-"));
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.isFile() && x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
