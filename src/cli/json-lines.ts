// `logs --json`: the log's lines as JSON lines. A JSON log (logs.format: json) passes through as it
// is; a text log is refused, since its pretty lines cannot be turned back into fields without
// guessing; a stray line in a JSON log (what the runtime itself wrote to a daemon's file) is kept,
// wrapped as {"unparsed": line}, so every line printed parses.
import { StringDecoder } from "node:string_decoder";
import { RodentError } from "../errors";
import { jsonEscaped } from "../log/escape";
import { program } from "../program";

export class JsonLines {
  private decoder = new StringDecoder("utf8");
  private partial = "";
  /** Set once a JSON line was seen: from then on the log is JSON and other lines are wrapped. */
  private json = false;

  constructor(private readonly path: string) {}

  /**
   * The complete lines in `chunk` (and what came before it) as JSON lines; a partial last line
   * waits for the next chunk. Throws a RodentError when the first lines read are all text.
   */
  push(chunk: Buffer | string): string {
    const text = this.partial + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    const cut = text.lastIndexOf("\n");
    this.partial = text.slice(cut + 1);
    return cut < 0 ? "" : this.lines(text.slice(0, cut).split("\n"));
  }

  /** What is left of the file's last line (a file rotated away mid-line), as a JSON line. */
  end(): string {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    this.decoder = new StringDecoder("utf8");
    return rest === "" ? "" : this.lines([rest]);
  }

  private lines(lines: string[]): string {
    const parsed = lines.filter((line) => line !== "").map((line) => ({ line, object: isJsonObject(line) }));
    if (!this.json && parsed.length > 0 && parsed.every((p) => !p.object)) {
      throw new RodentError(`log file ${this.path} is text (logs.format: pretty), not JSON lines: run '${program().name} logs' without --json, or set logs.format: json`);
    }
    this.json ||= parsed.length > 0;
    return parsed.map(({ line, object }) => `${object ? line : jsonEscaped(JSON.stringify({ unparsed: line }))}\n`).join("");
  }
}

function isJsonObject(line: string): boolean {
  if (!line.startsWith("{")) return false;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
