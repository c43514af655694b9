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

  test("a pretty access line shows the size in bytes, or - when the response did not declare it", () => {
    const f = tempFile();
    const logger = new Logger({ level: "info", format: "pretty", file: f.path });
    logger.access(record(1));
    logger.access({ ...record(2), bytes: null });
    logger.flush();
    const [known, unknown] = readFileSync(f.path, "utf8").trim().split("\n");
    expect(known).toContain("access GET /p/1 200 0.5ms 2b 127.0.0.1 id=r1");
    expect(unknown).toContain("access GET /p/2 200 0.5ms - 127.0.0.1 id=r2");
    f.done();
  });

  // the request id, ip and scheme reach the logger JSON-plain (access-line.test.ts proves it of
  // request-id.ts and trust.ts): the fields a client writes into freely are method, path and agent
  test("an access line is JSON that reads back every field as logged, whatever characters the client sent", () => {
    const f = tempFile();
    const logger = new Logger({ level: "info", format: "json", file: f.path });
    const odd = ['plain', 'q"uote', "back\\slash", "tab\tnew\nline", "c1\x85\x9b", "del\x7f", "ls\u2028ps\u2029", "é ü 漢", ""];
    for (const text of odd) logger.access({ ...record(1), method: text, path: `/p/${text}`, userAgent: text });
    logger.access({ ...record(2), userAgent: null, bytes: null });
    logger.flush();
    const lines = readFileSync(f.path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(odd.length + 1);
    lines.forEach((line, i) => {
      expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/);
      const text = odd[i];
      const expected = text === undefined ? { requestId: "r2", userAgent: null, bytes: null } : { requestId: "r1", method: text, path: `/p/${text}`, ip: "127.0.0.1", userAgent: text };
      expect(JSON.parse(line)).toMatchObject({ level: "info", tag: "access", status: 200, durationMs: 0.5, scheme: "http", ...expected });
    });
    f.done();
  });
});
