// The live status record an instance keeps beside its PID file, rewritten atomically on every
// state change, reload and heartbeat, so `rodent status` and `rodent reload` read the truth
// without a socket. The PID directory may be shared: the record is created under an unpredictable
// name and read only when it is a small regular file owned by the instance and naming its PID.
import { closeSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { processUid } from "./identity";
import { statusPath } from "./paths";
import { readPidFile } from "./pid-file";
import { createTemp, readSharedFile } from "./shared-file";

/** A record is a few hundred bytes; reload errors can add a few KiB. Anything larger is not ours. */
export const STATUS_MAX_BYTES = 64 * 1024;

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
  /** health.interval in ms: the record is rewritten at least this often while the instance runs. */
  heartbeatMs?: number;
  /** server.shutdownTimeout in ms: how long `rodent stop` should expect a drain to take. */
  shutdownTimeoutMs?: number;
  updatedAt: string;
}

/** The instance a record must belong to: the PID in the PID file and the uid that process runs as. */
export interface RecordOwner {
  pid: number;
  uid: number;
}

/**
 * Writes the record for the instance holding `pidPath`: a new file created with O_EXCL|O_NOFOLLOW
 * under an unpredictable name (nothing planted beside it is ever opened), then renamed over the
 * record. Failures are returned, not thrown, and leave no temp file behind.
 */
export function writeStatus(pidPath: string, record: Omit<StatusRecord, "updatedAt">): Error | undefined {
  const path = statusPath(pidPath);
  let temp: string | undefined;
  try {
    const created = createTemp(path, 0o644);
    temp = created.temp;
    try {
      writeSync(created.fd, `${JSON.stringify({ ...record, updatedAt: new Date().toISOString() })}\n`);
    } finally {
      closeSync(created.fd);
    }
    renameSync(temp, path);
    return undefined;
  } catch (error) {
    if (temp) {
      try {
        unlinkSync(temp);
      } catch {
        // already renamed
      }
    }
    return error as Error;
  }
}

export type StatusRead = { kind: "read"; record: StatusRecord } | { kind: "absent" } | { kind: "refused"; why: string };

/**
 * The record at `<pidPath>.status` if, and only if, it belongs to `owner`: a regular file (no
 * symlink, FIFO or device; opened without blocking), owned by `owner.uid`, at most
 * STATUS_MAX_BYTES, valid JSON, naming `owner.pid`. Anything else says why it was ignored.
 */
export function readStatusOf(pidPath: string, owner: RecordOwner): StatusRead {
  const path = statusPath(pidPath);
  let file;
  try {
    file = readSharedFile(path, { maxBytes: STATUS_MAX_BYTES, ownerUid: owner.uid });
  } catch (error) {
    return { kind: "refused", why: `${path} cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }
  if (file.kind === "absent") return file;
  if (file.kind === "refused") return { kind: "refused", why: `${path} is ${file.why}` };
  let record: StatusRecord;
  try {
    record = JSON.parse(file.text) as StatusRecord;
  } catch {
    return { kind: "refused", why: `${path} is not a status record` };
  }
  if (typeof record !== "object" || record === null || record.pid !== owner.pid) {
    return { kind: "refused", why: `${path} does not describe PID ${owner.pid}` };
  }
  const wrong = misshapen(record as unknown as Record<string, unknown>);
  if (wrong) return { kind: "refused", why: `${path} is not a status record (${wrong})` };
  return { kind: "read", record };
}

/**
 * The first field whose type is not what an instance writes, or undefined. Callers use the fields
 * as typed (`record.runtime.startsWith`): a record written by hand must not crash them.
 */
function misshapen(record: Record<string, unknown>): string | undefined {
  for (const key of ["state", "version", "runtime", "startedAt", "address", "configHash", "updatedAt"]) {
    if (typeof record[key] !== "string") return `${key} is not a string`;
  }
  for (const key of ["startedAt", "updatedAt"]) {
    if (!Number.isFinite(Date.parse(record[key] as string))) return `${key} is not a date`;
  }
  if (!Number.isInteger(record.generation)) return "generation is not a whole number";
  for (const key of ["heartbeatMs", "shutdownTimeoutMs"]) {
    if (record[key] !== undefined && typeof record[key] !== "number") return `${key} is not a number`;
  }
  for (const key of ["logFile", "logReopenError"]) {
    if (record[key] !== undefined && record[key] !== null && typeof record[key] !== "string") return `${key} is not a string`;
  }
  for (const key of ["reload", "handover"]) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "object" || Array.isArray(value)) return `${key} is not an object`;
    const { seq, errors, error } = value as Record<string, unknown>;
    if (typeof seq !== "number") return `${key}.seq is not a number`;
    if (errors !== undefined && !(Array.isArray(errors) && errors.every((e) => typeof e === "string"))) return `${key}.errors is not a list of strings`;
    if (error !== undefined && typeof error !== "string") return `${key}.error is not a string`;
  }
  return undefined;
}

/**
 * The record of the instance the PID file at `pidPath` names now, validated against it (see
 * readStatusOf), or undefined. Never blocks on what another user put in the directory.
 */
export function readStatus(pidPath: string): StatusRecord | undefined {
  const pidFile = readPidFile(pidPath);
  if (pidFile.kind !== "pid") return undefined;
  const uid = processUid(pidFile.pid);
  if (uid === undefined) return undefined;
  const read = readStatusOf(pidPath, { pid: pidFile.pid, uid });
  return read.kind === "read" ? read.record : undefined;
}

/** Removes the record if it belongs to `owner` (by default this process): never a file someone else put there. */
export function removeStatus(pidPath: string, owner: RecordOwner = { pid: process.pid, uid: process.geteuid?.() ?? -1 }): void {
  const read = readStatusOf(pidPath, owner);
  if (read.kind !== "read") return;
  try {
    unlinkSync(statusPath(pidPath));
  } catch {
    // already gone
  }
}
