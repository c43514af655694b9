// consola set up for rodent: coloured lines for a person at a terminal, JSON lines for machines,
// both through one LogSink; the access log skips consola on the hot path and writes the sink directly.
// consola/core, not consola: the full package loads tty and readline at start-up (~5 ms) for
// prompts and its fancy reporter, which a daemon does not need.
import { createConsola, LogLevels, type ConsolaInstance, type LogObject } from "consola/core";
import { readlinkSync } from "node:fs";
import { jsonEscaped, oneLine, printable } from "./escape";
import { program } from "../program";
import { LogSink } from "./sink";

export type LogFormat = "pretty" | "json";
export type LogLevel = "silent" | "fatal" | "error" | "warn" | "info" | "debug" | "trace";
type Fields = Record<string, unknown>;

/** One request for the access line. requestId, ip and scheme must be JSON-plain (the line writes them unescaped). */
export interface AccessRecord {
  /** From requestIdFor: a client's id that passed SANE_ID, or rodent's own. */
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  bytes: number | null;
  /** From clientInfo: a peer address, "unix", "unknown", or a forwarded hop that parsed as an IP. */
  ip: string;
  /** "http" or "https". */
  scheme: string;
  userAgent: string | null;
  /** The W3C trace id of a valid incoming traceparent (32 lower-case hex digits); undefined without one. */
  traceId?: string;
}

/** An access record waiting in the sink, stamped with the time it was logged. */
interface QueuedAccess extends AccessRecord {
  at: number;
}

export interface LogSettings {
  level: LogLevel;
  /** Undefined: pretty on a TTY, JSON otherwise and always JSON into a file. */
  format: LogFormat | undefined;
  /** Undefined: stdout. */
  file: string | undefined;
}

/** The small surface the rest of rodent logs through; tags name the component. */
export interface Log {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  withTag(tag: string): Log;
}

export class Logger {
  readonly sink: LogSink;
  private format: LogFormat;
  private level: number;
  private readonly consola: ConsolaInstance;
  private readonly colour: boolean;

  constructor(settings: LogSettings) {
    this.sink = new LogSink(settings.file);
    this.colour = !this.sink.isFile && stdoutIsTerminal() && !process.env.NO_COLOR;
    this.format = resolveFormat(settings.format, this.sink);
    this.level = LogLevels[settings.level];
    const sink = this.sink;
    sink.formatRecord = (r) => this.accessLine(r as QueuedAccess);
    sink.formatNotice = (message, fields) => {
      const obj = { type: "warn", tag: program().name, args: [message, fields], date: new Date(), level: LogLevels.warn } as LogObject;
      return this.format === "json" ? jsonLine(obj) : prettyLine(obj, this.colour);
    };
    this.consola = createConsola({
      level: this.level,
      throttle: 0,
      reporters: [
        {
          log: (obj: LogObject) => {
            // lifecycle lines are rare and operators wait on them: write them at once
            sink.write(this.format === "json" ? jsonLine(obj) : prettyLine(obj, this.colour), true);
          },
        },
      ],
    });
  }

  /** Changes level and format in place (a reload); lines queued before it keep the old format. */
  apply(settings: Pick<LogSettings, "level" | "format">): void {
    this.sink.flush();
    this.level = LogLevels[settings.level];
    this.consola.level = this.level;
    this.format = resolveFormat(settings.format, this.sink);
  }

  get settings(): { level: number; format: LogFormat } {
    return { level: this.level, format: this.format };
  }

  tagged(tag: string): Log {
    return wrap(this.consola, tag);
  }

  /**
   * One access-log line, at info level: the record is stamped now and formatted (in the format of
   * the moment) when the sink flushes, within 25 ms. Built by hand: it runs per request.
   */
  access(r: AccessRecord): void {
    if (this.level < LogLevels.info) return;
    (r as QueuedAccess).at = Date.now();
    this.sink.writeRecord(r);
  }

  /**
   * The line for a queued record: the fixed parts are literals, the time is formatted once per
   * millisecond, a field is escaped only when it holds something JSON must escape (a char-code
   * scan of that field), and the duration is written from its hundredths (a double's toString
   * cost more than the rest of the line). Three fields are never scanned, as nothing in them needs
   * escaping: the request id (a client's only when it passes request-id.ts's SANE_ID, else rodent's
   * hex prefix and counter), the ip (the runtime's peer address, "unix", "unknown", or a forwarded
   * hop that parsed as an IP address) and the scheme ("http" or "https"); their scans cost 950
   * instructions per line, a tenth of the access line.
   */
  private accessLine(r: QueuedAccess): string {
    const ms = hundredths(r.durationMs);
    if (this.format === "json") {
      return `{"time":"${isoAt(r.at)}","level":"info","tag":"access","requestId":"${r.requestId}","method":"${jsonInner(r.method)}","path":"${jsonInner(r.path)}","status":${r.status},"durationMs":${ms},"bytes":${r.bytes},"ip":"${r.ip}","scheme":"${r.scheme}","userAgent":${r.userAgent === null ? "null" : `"${jsonInner(r.userAgent)}"`}${r.traceId === undefined ? "" : `,"traceId":"${r.traceId}"`}}\n`;
    }
    return `${isoAt(r.at).slice(11, 23)} access ${oneLine(`${r.method} ${r.path} ${r.status} ${ms}ms ${r.bytes === null ? "-" : `${r.bytes}b`} ${r.ip} id=${r.requestId}${r.traceId === undefined ? "" : ` trace=${r.traceId}`} ua=${jsonString(r.userAgent ?? "")}`)}\n`;
  }

  flush(): void {
    this.sink.flush();
  }

  /** The exit path's flush: bounded in time however slow the reader (see LogSink.flushBeforeExit). */
  flushBeforeExit(): void {
    this.sink.flushBeforeExit();
  }
}

function resolveFormat(format: LogFormat | undefined, sink: LogSink): LogFormat {
  if (format) return format;
  return !sink.isFile && stdoutIsTerminal() ? "pretty" : "json";
}

/**
 * Whether fd 1 is a terminal. Bun builds process.stdout on first touch (~7 ms of start-up), so
 * ask /proc first and touch the stream only where /proc is absent.
 */
function stdoutIsTerminal(): boolean {
  try {
    return /^\/dev\/(pts\/|tty)/.test(readlinkSync("/proc/self/fd/1"));
  } catch {
    return Boolean(process.stdout.isTTY);
  }
}

/**
 * A Log for `tag` over the one consola instance, the tag passed with each line (a consola log
 * object). Not consola's withTag: a tagged instance copies the level when it is made, so a reload's
 * new level never reached the lines of a component tagged before it; and each withTag builds a
 * whole instance, 0.1–1 ms of start-up apiece. Nested tags join with ":" as withTag's do.
 */
function wrap(c: ConsolaInstance, tag: string): Log {
  const line = (message: string, fields: Fields | undefined) => ({ tag, args: fields ? [message, fields] : [message] });
  return {
    info: (m, f) => c.info(line(m, f)),
    warn: (m, f) => c.warn(line(m, f)),
    error: (m, f) => c.error(line(m, f)),
    debug: (m, f) => c.debug(line(m, f)),
    withTag: (inner) => wrap(c, `${tag}:${inner}`),
  };
}

function split(obj: LogObject): { message: string; fields: Fields } {
  const [first, second, ...rest] = obj.args as unknown[];
  const message = typeof first === "string" ? first : first instanceof Error ? first.message : JSON.stringify(first);
  const fields: Fields = second && typeof second === "object" && !Array.isArray(second) ? { ...(second as Fields) } : {};
  if (rest.length > 0) fields.extra = rest;
  return { message, fields };
}

function jsonLine(obj: LogObject): string {
  const { message, fields } = split(obj);
  const level = obj.type === "log" || obj.type === "success" ? "info" : obj.type;
  return `${jsonEscaped(JSON.stringify({ time: obj.date.toISOString(), level, tag: obj.tag || program().name, msg: message, ...fields }))}\n`;
}

const COLOURS: Record<string, string> = { error: "31", fatal: "31", warn: "33", info: "36", debug: "90", trace: "90" };

function prettyLine(obj: LogObject, colour: boolean): string {
  const { message, fields } = split(obj);
  const pairs = Object.entries(fields)
    .filter(([k, v]) => v !== undefined && k !== "stack")
    .map(([k, v]) => `${k}=${oneLine(typeof v === "string" ? v : jsonEscaped(JSON.stringify(v) ?? String(v)))}`);
  const stack = typeof fields.stack === "string" ? `\n${printable(fields.stack)}` : "";
  const tag = obj.tag ? `[${obj.tag}] ` : "";
  const level = obj.type.toUpperCase().padEnd(5);
  const paint = (code: string | undefined, text: string) => (colour && code ? `\x1b[${code}m${text}\x1b[0m` : text);
  const extra = pairs.length ? `  ${paint("2", pairs.join(" "))}` : "";
  return `${paint("2", clock(obj.date))} ${paint(COLOURS[obj.type], level)} ${oneLine(tag)}${printable(message)}${extra}${stack}\n`;
}

/**
 * `text` as the inside of a JSON string, with the controls JSON.stringify leaves raw escaped too
 * (see escape.ts): as it is when it holds only printable ASCII but the quote and the backslash.
 */
export function jsonInner(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return jsonEscaped(JSON.stringify(text)).slice(1, -1);
  }
  return text;
}

/** `text` as a JSON string (see jsonInner). */
export function jsonString(text: string): string {
  return `"${jsonInner(text)}"`;
}

/** ".01" … ".99" as a number's toString ends ("" for none, ".1" not ".10"). */
const FRACTIONS = Array.from({ length: 100 }, (_, i) => (i === 0 ? "" : `.${String(i).padStart(2, "0").replace(/0$/, "")}`));

/**
 * `ms` (a duration already rounded to hundredths) as String(ms) writes it, from its whole part and
 * a table of fractions: the same text for every such value from 0 to 2^53 / 100.
 */
export function hundredths(ms: number): string {
  const k = Math.round(ms * 100);
  const whole = Math.floor(k / 100);
  return `${whole}${FRACTIONS[k - whole * 100]}`;
}

// NaN: no time formatted yet (0 is a time: 1970-01-01)
let isoFor = NaN;
let iso = "";
let secondFor = -1;
/** The ISO 8601 text of secondFor up to its decimal point ("2026-11-26T12:00:32."). */
let secondText = "";

/** Epoch ms of 10000-01-01: toISOString writes later years (and those before 1970's 0000) with a sign. */
const YEAR_10000 = 253402300800000;

/**
 * `ms` (epoch milliseconds, as Date.now() gives them) in ISO 8601, as toISOString writes it: one
 * Date formatting per second, the milliseconds appended once per millisecond.
 */
export function isoAt(ms: number): string {
  if (ms !== isoFor) {
    isoFor = ms;
    const millis = ms % 1000;
    if (!(ms >= 0 && ms < YEAR_10000 && Math.floor(millis) === millis)) iso = new Date(ms).toISOString();
    else {
      if (ms - millis !== secondFor) {
        secondFor = ms - millis;
        secondText = new Date(secondFor).toISOString().slice(0, 20);
      }
      iso = `${secondText}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
    }
  }
  return iso;
}

function clock(date = new Date()): string {
  return date.toISOString().slice(11, 23);
}
