// Where log lines go: stdout or a file, buffered (64 KiB or 25 ms, whichever comes first), reopened
// at its path on SIGUSR1. Writes never block: a reader that stops reading (a full pipe) holds at most
// HOLD_AT_MOST bytes here, later lines are dropped and counted, and the count is written once the
// reader catches up (or, at exit, on stderr). A write failure never throws into the caller.
import { closeSync, constants, fstatSync, lstatSync, openSync, writeSync } from "node:fs";
import { RodentError } from "../errors";
import { program } from "../program";
import { nonBlockingOutput, type Output } from "./output";

const FLUSH_AT = 64 * 1024;
const FLUSH_EVERY_MS = 25;
/** What a queued record counts for against FLUSH_AT: about an access line's length. */
const RECORD_BYTES = 256;
/** What waits for a stalled reader at most (formatted and queued together); past it lines are dropped. */
const HOLD_AT_MOST = 1024 * 1024;
/** How often a stalled output is tried again. */
const RETRY_MS = 50;
/** How long the exit path waits for a stalled reader before it gives up on the rest. */
export const EXIT_FLUSH_MS = 500;

export class LogSink {
  private out: Output;
  private pending: Array<string | object> = [];
  private pendingBytes = 0;
  /** Bytes the output did not take yet (a full pipe); may start mid-line; written before pending. */
  private stalled: Buffer | undefined;
  /** Lines dropped since the last notice. */
  private dropped = 0;
  /** Lines dropped before the last notice. */
  private droppedNoticed = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private broken = false;
  /** Turns a record queued by writeRecord() into its line, at flush time. */
  formatRecord: (record: object) => string = (r) => `${JSON.stringify(r)}\n`;
  /** Turns the sink's own warning (lines dropped) into a line in the log's format. */
  formatNotice: (message: string, fields: Record<string, unknown>) => string = (msg, fields) =>
    `${JSON.stringify({ time: new Date().toISOString(), level: "warn", tag: program().name, msg, ...fields })}\n`;
  /** Why the last SIGUSR1 could not reopen the file (lines still go to the old one); cleared by a reopen that works. */
  reopenError: string | undefined;

  /** `path` undefined means stdout. Opening a file that cannot be written throws LogFileError. */
  constructor(readonly path: string | undefined) {
    this.out = path === undefined ? nonBlockingOutput(1) : { fd: openLogFile(path), blocking: false };
    if (this.out.blocking) writeStderr(`${program().name}: warning: ${this.out.why}; a stalled reader of stdout can block the daemon\n`);
  }

  get isFile(): boolean {
    return this.path !== undefined;
  }

  /** Whether `fd` writes where this log writes (stderr into the log file, or 2>&1 into one pipe). */
  sameFileAs(fd: number): boolean {
    try {
      const mine = fstatSync(this.out.fd);
      const theirs = fstatSync(fd);
      return mine.dev === theirs.dev && mine.ino === theirs.ino;
    } catch {
      return false;
    }
  }

  /** Lines dropped because the output did not keep up and not yet reported. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Every line dropped since the sink opened, reported or not (rodent_log_lines_dropped_total). */
  get droppedTotal(): number {
    return this.droppedNoticed + this.dropped;
  }

  /**
   * Queues a record to be turned into its line by formatRecord when the buffer is flushed, off the
   * request's path: formatting a batch in one loop took about 3 % less CPU per access-logged
   * request than a line at a time between requests (four A/B runs; one showed no difference).
   * The record must not change afterwards.
   */
  writeRecord(record: object): void {
    this.queue(record, RECORD_BYTES, false);
  }

  /** Buffers a line; `now` writes it (and everything before it) at once, for rare, important lines. */
  write(line: string, now = false): void {
    this.queue(line, line.length, now);
  }

  private queue(entry: string | object, bytes: number, now: boolean): void {
    if (this.broken) return;
    if (this.stalled && this.stalled.length + this.pendingBytes + bytes > HOLD_AT_MOST) {
      this.dropped++;
      return;
    }
    this.pending.push(entry);
    this.pendingBytes += bytes;
    if (this.stalled) return; // the retry timer writes it when the reader has room
    if (now || this.pendingBytes >= FLUSH_AT) this.flush();
    else this.schedule(FLUSH_EVERY_MS);
  }

  /** Batch for a few ms: one write per busy tick costs a syscall per handful of requests. */
  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, ms);
    this.timer.unref?.();
  }

  /** Writes what the output takes now, without waiting; the rest is tried again shortly. */
  flush(): void {
    if (this.pending.length > 0) {
      let data = "";
      const pending = this.pending;
      for (let i = 0; i < pending.length; i++) {
        const entry = pending[i]!;
        data += typeof entry === "string" ? entry : this.lineFor(entry);
      }
      // the same array again: it has grown to a batch's size already
      pending.length = 0;
      this.pendingBytes = 0;
      if (this.stalled) this.stalled = Buffer.concat([this.stalled, Buffer.from(data)]);
      else this.writeText(data);
    }
    this.drain();
    if (this.stalled) this.schedule(RETRY_MS);
  }

  /**
   * Writes a batch when nothing waits before it: the text goes to write(2) as it is, without a
   * Buffer of its own; only what the output did not take becomes the stalled bytes.
   */
  private writeText(text: string): void {
    if (this.broken) return;
    let written = 0;
    try {
      written = writeSync(this.out.fd, text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EAGAIN" && code !== "EWOULDBLOCK") return this.fail(code ?? String(error));
    }
    // a regular file takes it all; a full pipe may take part of it, or nothing
    if (written === text.length && written === Buffer.byteLength(text)) return;
    const bytes = Buffer.from(text);
    if (written < bytes.length) this.stalled = bytes.subarray(written);
  }

  /** Writes the stalled bytes until done or EAGAIN; once all is out, reports what was dropped meanwhile. */
  private drain(): void {
    while (this.stalled && !this.broken) {
      try {
        const n = writeSync(this.out.fd, this.stalled);
        this.stalled = n >= this.stalled.length ? undefined : this.stalled.subarray(n);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" || code === "EWOULDBLOCK") return;
        this.fail(code ?? String(error));
        return;
      }
      if (!this.stalled && this.dropped > 0) {
        const count = this.dropped;
        this.droppedNoticed += count;
        this.dropped = 0;
        this.stalled = Buffer.from(this.formatNotice(droppedMessage(count, this.path), { event: "log-lines-dropped", dropped: count }));
      }
    }
  }

  private fail(code: string): void {
    this.broken = true;
    this.stalled = undefined;
    writeStderr(`${program().name}: cannot write the log ${this.path ?? "stdout"} (${code}); log lines are dropped until it is reopened (SIGUSR1)\n`);
  }

  /**
   * The exit path's flush: writes everything queued, waiting for a stalled reader at most
   * `boundMs`; what is still unwritten then is counted as dropped, and a count not yet written to
   * the log goes to stderr as one line (if stderr takes it without waiting). Never blocks longer.
   */
  flushBeforeExit(boundMs = EXIT_FLUSH_MS): void {
    const until = Date.now() + boundMs;
    this.flush();
    while (this.stalled && !this.broken && Date.now() < until) {
      sleepSync(5);
      this.drain();
    }
    if (this.timer) clearTimeout(this.timer);
    if (this.stalled) {
      this.dropped += Math.max(1, count(this.stalled, 10));
      this.stalled = undefined;
    }
    if (this.dropped > 0) writeStderr(`${program().name}: ${droppedMessage(this.dropped, this.path)}\n`);
    this.dropped = 0;
  }

  private lineFor(record: object): string {
    try {
      return this.formatRecord(record);
    } catch (error) {
      // a formatting bug must cost one line, never the daemon (this runs from a timer)
      return `${JSON.stringify({ level: "error", msg: `unformattable log record: ${(error as Error).message}` })}\n`;
    }
  }

  /**
   * Reopens the file at its path (the old one may have been moved by logrotate). When that fails the
   * lines keep going to the old file, reopenError says why, and the LogFileError is returned.
   */
  reopen(): LogFileError | undefined {
    if (!this.path) return undefined;
    this.flush();
    let next: number;
    try {
      next = openLogFile(this.path);
    } catch (error) {
      this.reopenError = (error as Error).message;
      return error as LogFileError;
    }
    const old = this.out.fd;
    this.out = { fd: next, blocking: false };
    this.broken = false;
    this.reopenError = undefined;
    try {
      closeSync(old);
    } catch {
      // already closed: nothing to release
    }
    return undefined;
  }
}

/** The log file cannot be opened: names the path and the fix. */
export class LogFileError extends RodentError {}

function droppedMessage(count: number, path: string | undefined): string {
  return `dropped ${count} log line${count === 1 ? "" : "s"}: ${path ?? "stdout"} not keeping up`;
}

let stderr: Output | undefined;

/** One line on stderr, never waiting for its reader (stderr may be the stalled pipe too). */
export function writeStderr(text: string): void {
  try {
    stderr ??= nonBlockingOutput(2);
    writeSync(stderr.fd, text);
  } catch {
    // stderr is closed or full: nobody can be told
  }
}

function count(buffer: Buffer, byte: number): number {
  let c = 0;
  for (let i = buffer.indexOf(byte); i >= 0; i = buffer.indexOf(byte, i + 1)) c++;
  return c;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** This user or root: whoever else owns a file in the log's directory may have planted it. */
function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === (process.geteuid?.() ?? uid);
}

function openLogFile(path: string): number {
  try {
    // O_NONBLOCK changes nothing for a regular file; a FIFO or /dev/stdout as the log must not
    // block the open (no reader yet: ENXIO) nor a write (a stalled reader: EAGAIN, see drain())
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK;
    let fd: number;
    try {
      fd = openSync(path, flags | constants.O_NOFOLLOW, 0o640);
    } catch (error) {
      // (O_CREAT|O_NOFOLLOW on a symlink: ELOOP, or EACCES in a sticky directory)
      const link = lstatOrUndefined(path);
      if (!link?.isSymbolicLink()) throw error;
      // A symlink is followed only when its owner is trusted: in a shared (sticky) directory another
      // user's link could aim root's log at any file; nobody else can replace ours or root's there.
      if (!trustedOwner(link.uid)) throw new LogFileError(`log file ${path} is a symbolic link owned by uid ${link.uid}; ${program().name} does not follow another user's link: remove it, or choose a --log-file in a directory only you can write`);
      fd = openSync(path, flags, 0o640);
    }
    const stat = fstatSync(fd);
    if (!stat.isFile() && !path.startsWith("/dev/")) {
      closeSync(fd);
      throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
    }
    // Another user's file would receive our lines (they read them); a second name for a file
    // (a hard link planted in a shared directory) may be one we must never append to.
    if (stat.isFile() && (!trustedOwner(stat.uid) || stat.nlink > 1)) {
      closeSync(fd);
      const what = stat.nlink > 1 ? `has ${stat.nlink} names (hard links)` : `is owned by uid ${stat.uid}`;
      throw new LogFileError(`log file ${path} ${what}; ${program().name} writes only its own log file: remove it, or choose a --log-file in a directory only you can write`);
    }
    return fd;
  } catch (error) {
    if (error instanceof LogFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const fix =
      code === "EACCES" || code === "EPERM"
        ? "make it writable by this user or choose another --log-file"
        : code === "ENOENT"
          ? "create its directory or choose another --log-file"
          : code === "EROFS"
            ? "the file system is read-only; choose another --log-file"
            : code === "EISDIR"
              ? "it is a directory; name a file"
              : code === "ENXIO"
                ? "a FIFO nobody reads or a socket; for stdout use logs.output: stdout, else start the reader first"
                : "choose another --log-file";
    throw new LogFileError(`cannot open log file ${path} (${code ?? (error as Error).message}): ${fix}`);
  }
}
