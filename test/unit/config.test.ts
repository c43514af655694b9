import { afterAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDuration, parseDuration } from "../../src/config/duration";
import { ConfigError, envName, loadConfig } from "../../src/config/load";
import { attemptReload, buildReload } from "../../src/config/reload";
import { DURATION_BOUNDS, leafKeys } from "../../src/config/schema";
import { MAX_KEYS, parseYamlFile } from "../../src/config/yaml";

const dir = mkdtempSync(join(tmpdir(), "rodent-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(text: string): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(path, text);
  return path;
}
async function problems(fn: () => Promise<unknown>): Promise<string[]> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.source}|${p.key}|${p.message}`);
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("durations", () => {
  test("accept ms, s, m, h, d and decimals", async () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("30s")).toBe(30_000);
    // printed back the way an operator writes it
    expect([30_000, 60_000, 3_600_000, 500, 0].map(formatDuration)).toEqual(["30s", "60s", "1h", "500ms", "0s"]);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(formatDuration(604_800_000)).toBe("7d");
  });
  test("reject anything else", async () => {
    for (const bad of ["", "30", "s", "-1s", "1w", "25d", "1e9h", "ten seconds"]) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe("config loading", () => {
  const none = "/dev/null";
  test("defaults apply with no file, env or flags", async () => {
    const { config, origins } = await loadConfig({ file: none, env: {}, flags: {} });
    expect(config.server.port).toBe(8042);
    expect(config.server.host).toBe("127.0.0.1");
    // durations are milliseconds once validated: no component parses them again
    expect(config.server.shutdownTimeout).toBe(30_000);
    expect(config.health.endpoint).toBe("/health");
    expect(origins.get("server.port")).toBe("default");
  });

  test("precedence is default < file < env < flag, and each value knows its source", async () => {
    const path = file("server:\n  port: 9001\n  host: 127.0.0.2\n");
    const fromFile = await loadConfig({ file: path, env: {}, flags: {} });
    expect(fromFile.config.server.port).toBe(9001);
    expect(fromFile.origins.get("server.port")).toBe(`file ${path}:2`);
    const fromEnv = await loadConfig({ file: path, env: { RODENT_SERVER_PORT: "9002" }, flags: {} });
    expect(fromEnv.config.server.port).toBe(9002);
    expect(fromEnv.config.server.host).toBe("127.0.0.2");
    expect(fromEnv.origins.get("server.port")).toBe("env RODENT_SERVER_PORT");
    const fromFlag = await loadConfig({ file: path, env: { RODENT_SERVER_PORT: "9002" }, flags: { "server.port": 9003 } });
    expect(fromFlag.config.server.port).toBe(9003);
  });

  test("every problem is reported at once with source, key, expectation and what was found", async () => {
    const path = file("server:\n  port: 99999\n  shutdownTimeout: soon\nlogs:\n  output: syslog\n");
    const found = await problems(() => loadConfig({ file: path, env: { RODENT_SERVER_IDLETIMEOUT: "forever" }, flags: {} }));
    expect(found).toHaveLength(4);
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`^file ${path}:2\\|server\\.port\\|.*65535.*found 99999`)));
    expect(found).toContainEqual(expect.stringMatching(/:3\|server\.shutdownTimeout\|.*duration/));
    expect(found).toContainEqual(expect.stringMatching(/:5\|logs\.output\|expected stdout or file/));
    expect(found).toContainEqual(expect.stringMatching(/^env RODENT_SERVER_IDLETIMEOUT\|server\.idleTimeout\|/));
  });

  test("env values are typed like the file: a non-number port is an error naming the variable", async () => {
    const found = await problems(() => loadConfig({ file: none, env: { RODENT_SERVER_PORT: "eighty" }, flags: {} }));
    expect(found[0]).toMatch(/^env RODENT_SERVER_PORT\|server\.port\|.*found "eighty"/);
  });

  test("unknown keys are warnings at start-up and errors when strict, with a suggestion", async () => {
    const path = file("server:\n  prot: 80\n");
    const loaded = await loadConfig({ file: path, env: {}, flags: {} });
    expect(loaded.warnings.map((w) => w.key)).toEqual(["server.prot"]);
    expect(loaded.warnings[0]!.message).toContain("did you mean server.port");
    expect((await problems(() => loadConfig({ file: path, env: {}, flags: {} }, { strict: true })))[0]).toMatch(/:2\|server\.prot\|unknown key/);
  });

  test("broken YAML names the line", async () => {
    const path = file("server:\n  port: 8042\n  host: [unclosed\n");
    expect((await problems(() => loadConfig({ file: path, env: {}, flags: {} })))[0]).toMatch(new RegExp(`^file ${path}:\\d+\\|\\(yaml\\)`));
  });

  test("an alias bomb is refused, not expanded", async () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    const path = file(bomb);
    const found = await problems(() => loadConfig({ file: path, env: {}, flags: {} }));
    expect(found).toEqual([`file ${path}|(yaml)|Excessive alias count indicates a resource exhaustion attack`]);
  });

  test("an explicitly named file that does not exist is an error", async () => {
    expect((await problems(() => loadConfig({ file: join(dir, "missing.yml"), env: {}, flags: {} })))[0]).toContain("no such file");
  });

  test("env variable names derive from the schema's keys", async () => {
    expect(envName("server.pidFile")).toBe("RODENT_SERVER_PIDFILE");
    expect(leafKeys().get("server.trustProxy")).toBe("array");
    const { config } = await loadConfig({ file: none, env: { RODENT_SERVER_TRUSTPROXY: "10.0.0.0/8, ::1", RODENT_DEVELOPMENT_ENABLED: "true" }, flags: {} });
    expect(config.server.trustProxy).toEqual(["10.0.0.0/8", "::1"]);
    expect(config.development.enabled).toBe(true);
  });
});

describe("duration bounds", () => {
  const withFlag = (key: string, value: string) => loadConfig({ file: "/dev/null", env: {}, flags: { [key]: value } });
  const justOutside = (text: string, by: number) => `${Number(text.match(/^\d+/)![0]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[text.match(/[a-z]+$/)![0]]! + by}ms`;

  for (const [key, [min, max]] of Object.entries(DURATION_BOUNDS)) {
    test(`${key} accepts ${min} and ${max} and refuses just outside them, naming the bounds`, async () => {
      expect((await withFlag(key, min)).config).toBeDefined();
      expect((await withFlag(key, max)).config).toBeDefined();
      const outside = [justOutside(max, 1), ...(min === "0s" ? [] : [justOutside(min, -1)])];
      for (const value of outside) {
        expect(await problems(() => withFlag(key, value))).toEqual([`flag ${key}|${key}|expected a duration from ${min} to ${max} (found "${value}")`]);
      }
    });
  }

  test("a value that is not a duration at all says what a duration looks like", async () => {
    expect((await problems(() => withFlag("health.interval", "soon")))[0]).toContain("expected a duration like 30s or 500ms");
  });
});

describe("parsing stays linear", () => {
  test("20 000 keys parse with every line number in well under the quadratic time (minutes before)", () => {
    const text = `server:\n${Array.from({ length: 20_000 }, (_, i) => `  k${i}: 1`).join("\n")}\n`;
    const started = performance.now();
    const parsed = parseYamlFile(text, "big.yml");
    for (let i = 0; i < 20_000; i++) parsed.lineOf(`server.k${i}`);
    // about 0.5 s here, 20 s or more when it was quadratic; the margin is for a loaded machine
    expect(performance.now() - started).toBeLessThan(8000);
    expect(parsed.lineOf("server.k0")).toBe(2);
    expect(parsed.lineOf("server.k19999")).toBe(20_001);
    expect(parsed.problems).toEqual([{ source: "file big.yml", key: "(file)", message: `has 20001 keys; the cap is ${MAX_KEYS} (a rodent config has about 25): is this the right file?` }]);
  });

  test("duplicate keys are found in each map, not across maps", () => {
    const parsed = parseYamlFile("server:\n  port: 1\nlogs:\n  port: 2\nserver: {}\n", "d.yml");
    expect(parsed.problems).toEqual([{ source: "file d.yml:5", key: "(yaml)", message: "Map keys must be unique" }]);
  });
});

describe("reload", () => {
  test("whatever throws while applying, the outcome is a rejection carrying the error", async () => {
    const path = file("server:\n  logLevel: info\n");
    const current = await loadConfig({ file: path, env: {}, flags: {} });
    writeFileSync(path, "server:\n  logLevel: debug\n");
    const result = await attemptReload(current, { file: path, env: {}, flags: {} }, () => {
      throw new Error("trust list did not compile");
    });
    expect(result).toMatchObject({ applied: false, errors: ["cannot apply the new config: trust list did not compile"] });
  });

  test("the file the instance started from is re-read even when found without -c; gone, the reload is rejected", async () => {
    const path = file("server:\n  logLevel: warn\n");
    const current = await loadConfig({ file: path, env: {}, flags: {} });
    unlinkSync(path);
    const result = await buildReload(current, { file: undefined, env: {}, flags: {} });
    expect(result.applied).toBe(false);
    expect(result.errors).toEqual([`${path}: (file): the file this instance was started from is gone (deleted or renamed?): put it back and reload, or restart rodent to use another`]);
  });

  test("a valid change is applied; restart-only keys keep their running values", async () => {
    const path = file("server:\n  port: 9001\n  logLevel: info\n");
    const current = await loadConfig({ file: path, env: {}, flags: {} });
    writeFileSync(path, "server:\n  port: 9555\n  logLevel: debug\n  idleTimeout: 5s\n");
    const result = await buildReload(current, { file: path, env: {}, flags: {} });
    expect(result.applied).toBe(true);
    expect(result.changed).toEqual(["server.logLevel"]);
    // the listener's own options cannot change under it
    expect(result.restartNeeded).toEqual(["server.port", "server.idleTimeout"]);
    expect(result.next!.config.server.port).toBe(9001);
    expect(result.next!.config.server.logLevel).toBe("debug");
    expect(result.next!.hash).not.toBe(current.hash);
  });

  test("a plugin's restart keys (section.restart) keep their running values too; its other keys apply", async () => {
    const sections = { store: v.object({ database: v.optional(v.string(), "/a.db"), retention: v.optional(v.string(), "0s") }) };
    const input = { env: {}, flags: {}, sections, restartKeys: ["store.database"] };
    const path = file("store:\n  database: /a.db\n  retention: 1s\n");
    const current = await loadConfig({ ...input, file: path });
    writeFileSync(path, "store:\n  database: /b.db\n  retention: 2s\n");
    const result = await buildReload(current, { ...input, file: path });
    expect(result).toMatchObject({ applied: true, changed: ["store.retention"], restartNeeded: ["store.database"] });
    expect((result.next!.config as unknown as { store: unknown }).store).toEqual({ database: "/a.db", retention: "2s" });
  });

  test("an invalid file is rejected with every error and nothing to apply", async () => {
    const path = file("server:\n  logLevel: info\n");
    const current = await loadConfig({ file: path, env: {}, flags: {} });
    writeFileSync(path, "server:\n  logLevel: loud\n  port: -1\n");
    const result = await buildReload(current, { file: path, env: {}, flags: {} });
    expect(result.applied).toBe(false);
    expect(result.next).toBeUndefined();
    expect(result.errors).toHaveLength(2);
  });
});
