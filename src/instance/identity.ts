// Tells whether a PID is a live rodent that wrote a given PID file, by the file it executes
// (device and inode), never by its name: a recycled PID, a stranger, or a program that merely
// calls itself "rodent" is never mistaken for the holder, and never signalled.
import { readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { RodentError } from "../errors";
import { program } from "../program";

/** What this rodent is on disk: the files (dev:ino) that count as rodent, and their paths. */
export interface ProgramIdentity {
  /**
   * Our own executable (compiled) or script (under a runtime), the file now at that path (the
   * upgrade an old instance must recognise), and the other forms of the same build beside it:
   * dist/<name>, dist/<name>.mjs and src/main.ts of one tree, when owned by our file's owner or root.
   */
  files: Set<string>;
  /** The paths of those files: an instance whose file was since replaced there shows "<path> (deleted)". */
  paths: Set<string>;
}

/** This program's identity, read afresh (the file at our path may have been replaced meanwhile). */
export function selfIdentity(): ProgramIdentity {
  const script = programScript();
  const own = script ? resolve(script) : stripDeleted(linkOrUndefined("/proc/self/exe") ?? process.execPath);
  const files = new Set<string>();
  const paths = new Set<string>([own]);
  const ownerOf = statOrUndefined(script ? own : "/proc/self/exe")?.uid;
  if (!script) addFile(files, "/proc/self/exe");
  addFile(files, own);
  const dir = dirname(own);
  const tree = basename(dir) === "src" && basename(own) === "main.ts" ? dirname(dir) : undefined;
  // the program's own name: rodent's dist/rodent and dist/rodent.mjs, an app's dist/notes and dist/notes.mjs
  const { name } = program();
  const siblings = tree
    ? [join(tree, "dist", name), join(tree, "dist", `${name}.mjs`)]
    : [join(dir, name), join(dir, `${name}.mjs`), join(dirname(dir), "src", "main.ts")];
  for (const sibling of siblings) {
    const stat = statOrUndefined(sibling);
    // a file someone else put beside us does not speak for this build
    if (!stat?.isFile() || (stat.uid !== ownerOf && stat.uid !== 0)) continue;
    files.add(`${stat.dev}:${stat.ino}`);
    paths.add(sibling);
  }
  return { files, paths };
}

/**
 * The script this process runs under a runtime (node dist/rodent.mjs, bun src/main.ts), or
 * undefined when compiled: then argv[1] is the binary's embedded "/$bunfs/" entry.
 */
export function programScript(): string | undefined {
  const script = process.argv[1];
  return script && !script.startsWith("/$bunfs/") ? script : undefined;
}

/** The PID file's own facts that the holder must match. */
export interface PidFileFacts {
  /** mtime: the moment the holder wrote it. */
  writtenAtMs: number;
  /** The file's owner: a holder writes its own file, so it runs as this uid. */
  ownerUid: number;
}

/**
 * "ours": a live rodent that wrote the file, proven by the executable it runs (`by: "executable"`)
 * or by its own status record (`by: "record"`: a file only its uid can write, naming its PID and
 * start time). "stranger": alive but provably not (another uid than the file's, started after the
 * file was written, another program without a record). "unverified": alive and plausibly the
 * holder, but neither proof is at hand (its executable, replaced on disk or unreadable, and no record).
 */
export type Verdict =
  | { kind: "dead" }
  | { kind: "ours"; uid: number; by: "executable" | "record" }
  | { kind: "stranger"; why: string }
  | { kind: "unverified"; uid: number; why: string };

/**
 * Classifies `pid` against the PID file it is named in. Ours when it is alive, runs as the file's
 * owner, started before the file was written (a PID recycled after a crash started later), and
 * either runs our executable or a runtime (node, bun) on our script, or `corroborate(pid, uid,
 * start)` confirms it: its own status record, owned by its uid, naming its PID and its start time.
 * That covers an instance whose executable was replaced on disk since it started (an upgrade:
 * /proc shows "<path> (deleted)"), another copy or build of rodent, and a process of another user
 * whose executable this caller may not read.
 */
export function classify(pid: number, file: PidFileFacts, self: ProgramIdentity, corroborate: (pid: number, uid: number, startedAtMs: number | undefined) => boolean): Verdict {
  if (!isAlive(pid)) return { kind: "dead" };
  const proc = readProc(pid);
  if (!proc) return isAlive(pid) ? { kind: "unverified", uid: -1, why: `/proc/${pid} cannot be read` } : { kind: "dead" };
  if (proc.uid !== file.ownerUid) return { kind: "stranger", why: `PID ${pid} runs as uid ${proc.uid} but the PID file belongs to uid ${file.ownerUid}: it is not the writer` };
  // Start times are known to 10 ms (boot time to 1 s) and the file's mtime to the file system's precision: allow 1 s.
  if (proc.startedAtMs !== undefined && proc.startedAtMs > file.writtenAtMs + 1000) return { kind: "stranger", why: `PID ${pid} started after the PID file was written (a recycled PID)` };
  if (proc.exe && (self.files.has(proc.exe.id) || runsOurScript(proc, self))) return { kind: "ours", uid: proc.uid, by: "executable" };
  if (corroborate(pid, proc.uid, proc.startedAtMs)) return { kind: "ours", uid: proc.uid, by: "record" };
  if (proc.exe === undefined) return { kind: "unverified", uid: proc.uid, why: `its executable cannot be read (/proc/${pid}/exe: permission denied) and it has no status record` };
  // our own path, replaced on disk since it started: most likely the previous version (upgrade)
  if (proc.exe.link.endsWith(" (deleted)") && self.paths.has(stripDeleted(proc.exe.link))) {
    return { kind: "unverified", uid: proc.uid, why: `it runs ${proc.exe.link} and no status record of its own confirms it is ${program().name}` };
  }
  return { kind: "stranger", why: `PID ${pid} is another program` };
}

/** True while `pid` exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return true;
  }
}

export class NotPermittedError extends RodentError {}

/**
 * Refuses to signal an instance this process may not control: one that runs as another user
 * (root may, but only when it runs our executable), or one that could not be verified as rodent.
 * `verb` names the action for the message ("stop", "reload").
 */
export function assertMaySignal(pid: number, verdict: Verdict, verb: string): void {
  if (verdict.kind === "dead" || verdict.kind === "stranger") throw new NotPermittedError(`PID ${pid} is not a running ${program().name}; nothing was sent to it`);
  if (verdict.kind === "unverified") {
    throw new NotPermittedError(`PID ${pid} could not be verified as ${program().name} (${verdict.why}); nothing was sent to it: check it yourself (ps -p ${pid}) and signal it by hand if it is`);
  }
  const me = process.geteuid?.() ?? -1;
  if (verdict.uid === me) return;
  if (me !== 0) throw new NotPermittedError(`${program().name} (PID ${pid}) runs as uid ${verdict.uid}: only that user or root may ${verb} it; run '${program().name} ${verb}' as that user`);
  if (verdict.by !== "executable") {
    throw new NotPermittedError(`${program().name} (PID ${pid}) runs as uid ${verdict.uid} and not this executable: root signals another user's process only when it runs this very binary; run '${program().name} ${verb}' as uid ${verdict.uid}`);
  }
}

interface ProcInfo {
  uid: number;
  /** Undefined when this caller may not read it (another user's process, and we are not root). */
  exe: { link: string; id: string } | undefined;
  cmdline: string[];
  cwd: string | undefined;
  startedAtMs: number | undefined;
}

function readProc(pid: number): ProcInfo | undefined {
  const uid = processUid(pid);
  if (uid === undefined) return undefined;
  let exe: ProcInfo["exe"];
  try {
    const stat = statSync(`/proc/${pid}/exe`);
    exe = { link: readlinkSync(`/proc/${pid}/exe`), id: `${stat.dev}:${stat.ino}` };
  } catch {
    // EACCES/EPERM: not ours to read; ENOENT: exited meanwhile (caught by the caller's next look)
  }
  let cmdline: string[] = [];
  let cwd: string | undefined;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // exited meanwhile, or hidden: judged on the executable alone
  }
  return { uid, exe, cmdline, cwd, startedAtMs: startTime(pid) };
}

/**
 * A runtime running our script: the executable is a JavaScript runtime (our own runtime's file,
 * or one named node or bun (bun.exe as npm installs it): the name only tells an interpreter from, say, an editor opened on the
 * file) and its first non-option argument is one of our files, resolved in its directory.
 */
function runsOurScript(proc: ProcInfo, self: ProgramIdentity): boolean {
  if (!proc.exe || proc.cwd === undefined) return false;
  const ownRuntime = programScript() ? statOrUndefined(process.execPath) : undefined;
  const isRuntime = (ownRuntime && proc.exe.id === `${ownRuntime.dev}:${ownRuntime.ino}`) || /^(node|nodejs|bun)(\.exe)?$/.test(basename(stripDeleted(proc.exe.link)));
  if (!isRuntime) return false;
  const script = proc.cmdline.slice(1).find((arg) => !arg.startsWith("-") && arg !== "run");
  const stat = script && statOrUndefined(resolve(proc.cwd, script));
  return !!stat && self.files.has(`${stat.dev}:${stat.ino}`);
}

/** The effective uid of `pid` from /proc/PID/status (readable by every user). */
export function processUid(pid: number): number | undefined {
  try {
    const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return uid === undefined ? undefined : Number(uid);
  } catch {
    return undefined;
  }
}

/** Process start time in epoch ms from /proc/PID/stat field 22 and the boot time in /proc/stat. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return btime * 1000 + (ticks / 100) * 1000;
  } catch {
    return undefined;
  }
}

function addFile(files: Set<string>, path: string): void {
  const stat = statOrUndefined(path);
  if (stat) files.add(`${stat.dev}:${stat.ino}`);
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function linkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function stripDeleted(link: string): string {
  return link.replace(/ \(deleted\)$/, "");
}
