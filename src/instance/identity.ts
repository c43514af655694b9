// Tells whether a PID is a live rodent that wrote a given PID file, so a recycled PID or a stranger
// is never mistaken for the holder (and never signalled).
import { readFileSync, readlinkSync } from "node:fs";
import { basename } from "node:path";
import { program } from "../program";

/** The names a rodent process goes by in a process table: the binary, the Node bundle, the script. */
export interface ProgramIdentity {
  names: Set<string>;
}

/**
 * This program's names. Compiled, the executable is the program; under a runtime the script is.
 * The program's name ("rodent", or an app's "notes"), its Node bundle ("notes.mjs") and "main.ts"
 * always count, so the binary, the Node bundle and a run from source recognise each other.
 */
export function selfIdentity(): ProgramIdentity {
  const script = programScript();
  const own = script ?? process.execPath;
  const { name } = program();
  // main.ts: run from source (`bun run src/main.ts`), which the binary must recognise too
  return { names: new Set([basename(own), name, `${name}.mjs`, "main.ts"]) };
}

/**
 * The script this process runs under a runtime (node dist/rodent.mjs, bun src/main.ts), or
 * undefined when compiled: then argv[1] is the binary's embedded "/$bunfs/" entry.
 */
export function programScript(): string | undefined {
  const script = process.argv[1];
  return script && !script.startsWith("/$bunfs/") ? script : undefined;
}

export type Liveness = "dead" | "ours" | "stranger";

/**
 * Classifies `pid` against the PID file written at `writtenAtMs`. A process is ours when it is
 * alive, runs our executable (and script, under a runtime), and started before the file was
 * written: a PID recycled after a crash belongs to a process that started later. Without /proc,
 * a live PID is taken as ours (the safe side for a lock: refuse to start rather than run twice).
 */
export function classify(pid: number, writtenAtMs: number, self: ProgramIdentity = selfIdentity()): Liveness {
  if (!isAlive(pid)) return "dead";
  const proc = readProc(pid);
  if (!proc) return "ours";
  // The executable, or the program or script among the first arguments (node dist/rodent.mjs).
  const candidates = [proc.exe.replace(/ \(deleted\)$/, ""), ...proc.cmdline.slice(0, 2)];
  const isRodent = candidates.some((c) => self.names.has(basename(c)));
  // Start times are known to 10 ms and the file's mtime to the file system's precision: allow 1 s.
  const startedBefore = proc.startedAtMs === undefined || proc.startedAtMs <= writtenAtMs + 1000;
  return isRodent && startedBefore ? "ours" : "stranger";
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

interface ProcInfo {
  exe: string;
  cmdline: string[];
  startedAtMs: number | undefined;
}

function readProc(pid: number): ProcInfo | undefined {
  let exe: string;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") exe = "(unreadable)";
    else return undefined;
  }
  let cmdline: string[] = [];
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    // exited meanwhile, or hidden: judged on the executable alone
  }
  return { exe, cmdline, startedAtMs: startTime(pid) };
}

/** Process start time in epoch ms from /proc/PID/stat field 22 and the boot time in /proc/stat. */
function startTime(pid: number): number | undefined {
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
