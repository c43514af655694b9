// consola set up for rodent: fancy output for a person at a terminal, JSON lines for machines,
// both through one LogSink; the access log skips consola on the hot path and writes the sink directly.
import { createConsola, LogLevels, type ConsolaInstance, type LogObject } from "consola";
import { LogSink } from "./sink";

export type LogFormat = "pretty" | "json";
export type LogLevel = "silent" | "fatal" | "error" | "warn" | "info" | "debug" | "trace";
type Fields = Record<string, unknown>;

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

  constructor(settings: LogSettings) {
    this.sink = new LogSink(settings.file);
    this.format = resolveFormat(settings.format, this.sink);
    this.level = LogLevels[settings.level];
    const sink = this.sink;
    // consola's own fancy reporter for a person at a terminal; plain lines through the sink otherwise.
    const fancy = !sink.isFile && process.stdout.isTTY ? createConsola({ fancy: true }).options.reporters[0] : undefined;
    this.consola = createConsola({
      level: this.level,
      throttle: 0,
      reporters: [
        {
          log: (obj: LogObject, ctx) => {
            if (this.format === "json") sink.write(jsonLine(obj));
            else if (fancy) fancy.log(obj, ctx);
            else sink.write(prettyLine(obj));
          },
        },
      ],
    });
  }

  /** Changes level and format in place (a reload). */
  apply(settings: Pick<LogSettings, "level" | "format">): void {
    this.level = LogLevels[settings.level];
    this.consola.level = this.level;
    this.format = resolveFormat(settings.format, this.sink);
  }

  get settings(): { level: number; format: LogFormat } {
    return { level: this.level, format: this.format };
  }

  tagged(tag: string): Log {
    return wrap(this.consola.withTag(tag));
  }

  /** One access-log record, at info level, in the current format. */
  access(record: Fields): void {
    if (this.level < LogLevels.info) return;
    if (this.format === "json") {
      this.sink.write(`{"time":"${new Date().toISOString()}","level":"info","tag":"access",${JSON.stringify(record).slice(1)}\n`);
    } else {
      const r = record as Record<string, string | number>;
      this.sink.write(`${clock()} access ${r.method} ${r.path} ${r.status} ${r.durationMs}ms ${r.bytes}b ${r.ip} id=${r.requestId} ua=${JSON.stringify(r.userAgent ?? "")}\n`);
    }
  }

  flush(): void {
    this.sink.flush();
  }
}

function resolveFormat(format: LogFormat | undefined, sink: LogSink): LogFormat {
  if (format) return format;
  return !sink.isFile && process.stdout.isTTY ? "pretty" : "json";
}

function wrap(c: ConsolaInstance): Log {
  return {
    info: (m, f) => (f ? c.info(m, f) : c.info(m)),
    warn: (m, f) => (f ? c.warn(m, f) : c.warn(m)),
    error: (m, f) => (f ? c.error(m, f) : c.error(m)),
    debug: (m, f) => (f ? c.debug(m, f) : c.debug(m)),
    withTag: (tag) => wrap(c.withTag(tag)),
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
  return `${JSON.stringify({ time: obj.date.toISOString(), level, tag: obj.tag || "rodent", msg: message, ...fields })}\n`;
}

function prettyLine(obj: LogObject): string {
  const { message, fields } = split(obj);
  const pairs = Object.entries(fields)
    .filter(([k, v]) => v !== undefined && k !== "stack")
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  const stack = typeof fields.stack === "string" ? `\n${fields.stack}` : "";
  const tag = obj.tag ? `[${obj.tag}] ` : "";
  return `${clock(obj.date)} ${obj.type.toUpperCase().padEnd(5)} ${tag}${message}${pairs.length ? `  ${pairs.join(" ")}` : ""}${stack}\n`;
}

function clock(date = new Date()): string {
  return date.toISOString().slice(11, 23);
}
