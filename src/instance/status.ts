// The live status record an instance keeps beside its PID file, rewritten atomically on every
// state change and reload, so `rodent status` and `rodent reload` read the truth without a socket.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { statusPath } from "./paths";

export interface ReloadOutcome {
  /** Counts every reload attempt, so a client can wait for the one it asked for. */
  seq: number;
  applied: boolean;
  at: string;
  changed?: string[];
  restartNeeded?: string[];
  errors?: string[];
}

/** A hand-over the instance started itself (SIGUSR2) and that failed; success shows as a new PID file. */
export interface HandoverOutcome {
  seq: number;
  at: string;
  error: string;
}

export interface StatusRecord {
  pid: number;
  state: string;
  version: string;
  runtime: string;
  startedAt: string;
  address: string;
  /** Where its logs go; undefined for stdout. */
  logFile: string | undefined;
  configHash: string;
  generation: number;
  reload: ReloadOutcome | undefined;
  handover?: HandoverOutcome;
  /** Why the last SIGUSR1 could not reopen the log file (lines still go to the old one). */
  logReopenError?: string;
  updatedAt: string;
}

/** Writes the record for the instance holding `pidPath`. Failures are returned, not thrown. */
export function writeStatus(pidPath: string, record: Omit<StatusRecord, "updatedAt">): Error | undefined {
  const path = statusPath(pidPath);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify({ ...record, updatedAt: new Date().toISOString() })}\n`, { mode: 0o644 });
    renameSync(temp, path);
    return undefined;
  } catch (error) {
    // never leave a half-written temp file beside the PID file
    try {
      unlinkSync(temp);
    } catch {
      // not created, or already renamed
    }
    return error as Error;
  }
}

export function readStatus(pidPath: string): StatusRecord | undefined {
  try {
    return JSON.parse(readFileSync(statusPath(pidPath), "utf8")) as StatusRecord;
  } catch {
    return undefined;
  }
}

/** Removes the record if it still describes `pid`. */
export function removeStatus(pidPath: string, pid: number = process.pid): void {
  const record = readStatus(pidPath);
  if (record && record.pid !== pid) return;
  try {
    unlinkSync(statusPath(pidPath));
  } catch {
    // never written, or already gone
  }
}
