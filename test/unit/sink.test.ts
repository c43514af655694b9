import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "../../src/log/logger";
import { LogSink } from "../../src/log/sink";

function tempFile(): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "rodent-sink-"));
  return { path: join(dir, "log"), done: () => rmSync(dir, { recursive: true, force: true }) };
}

const record = (n: number) => ({ requestId: `r${n}`, method: "GET", path: `/p/${n}`, status: 200, durationMs: 0.5, bytes: 2, ip: "127.0.0.1", scheme: "http", userAgent: "ua \"quoted\"" });

describe("LogSink queued records", () => {
  test("records and lines come out in the order they were written, records formatted at flush", () => {
    const f = tempFile();
    const sink = new LogSink(f.path);
    const formatted: string[] = [];
    sink.formatRecord = (r) => (formatted.push((r as { n: number }).n.toString()), `record ${(r as { n: number }).n}\n`);
    sink.writeRecord({ n: 1 });
    sink.write("line a\n");
    sink.writeRecord({ n: 2 });
    expect(formatted).toEqual([]);
    sink.write("line b\n", true);
    expect(readFileSync(f.path, "utf8")).toBe("record 1\nline a\nrecord 2\nline b\n");
    f.done();
  });

  test("a formatter that throws costs one line, not the process", () => {
    const f = tempFile();
    const sink = new LogSink(f.path);
    sink.formatRecord = () => {
      throw new Error("bug");
    };
    sink.writeRecord({});
    sink.write("after\n", true);
    const lines = readFileSync(f.path, "utf8").trim().split("\n");
    expect(JSON.parse(lines[0]!).msg).toContain("unformattable log record: bug");
    expect(lines[1]).toBe("after");
    f.done();
  });

  test("access lines keep the time they were logged and the format of that moment", async () => {
    const f = tempFile();
    const logger = new Logger({ level: "info", format: "json", file: f.path });
    const before = Date.now();
    logger.access(record(1));
    const after = Date.now();
    // formatted at the flush, 30 ms later: a time taken then would fall outside [before, after]
    await Bun.sleep(30);
    logger.apply({ level: "info", format: "pretty" });
    logger.access(record(2));
    logger.flush();
    const [first, second] = readFileSync(f.path, "utf8").trim().split("\n");
    const json = JSON.parse(first!);
    expect(json).toMatchObject({ tag: "access", requestId: "r1", path: "/p/1", userAgent: 'ua "quoted"' });
    const at = Date.parse(json.time);
    expect(at >= before && at <= after ? "when logged" : `${at - after} ms after logging`).toBe("when logged");
    expect(second).toContain("access GET /p/2 200");
    f.done();
  });
});
