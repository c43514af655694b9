// Config fuzzing: generated YAML documents and env values through the loader, `config check`
// and SIGHUP. Never a crash, never a hang, always a clear error, the running config untouched.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/load";
import { getJson, runRodent, startServer, tempDir, waitFor } from "../helpers";

// An exact 31-bit LCG, drawing from its high bits: its low bits repeat with a short period (seed % 16
// cycles every 16 draws), which once made the generator pick the same few keys forever.
let seed = 7;
const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff), Math.floor((seed / 2 ** 31) * n));
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;

const KEYS = ["server", "port", "host", "logLevel", "shutdownTimeout", "trustProxy", "logs", "path", "health", "endpoint", "prot", "développement", "🐀", "<<", "a.b"];
const SCALARS = ["99999999999999999999999", "-1", "0", "8042", "1e309", "NaN", ".inf", "true", "null", "~", "'30s'", "30s", "500ms", "\"\\u0000\"", "ü", "\"💥\"", "[]", "{}", "''", "0x1F", "0o17", "2001:db8::1", "!!binary aGk=", "!!js/function 'x'", "*undefined_alias", "&a 1", "|\n  block"];

function document(depth = 0): string {
  const lines: string[] = [];
  const n = 1 + rand(4);
  for (let i = 0; i < n; i++) {
    const key = pick(KEYS);
    const indent = "  ".repeat(depth);
    if (depth < 6 && rand(3) === 0) lines.push(`${indent}${key}:\n${document(depth + 1)}`);
    else if (rand(5) === 0) lines.push(`${indent}${key}: [${Array.from({ length: rand(4) }, () => pick(SCALARS)).join(", ")}]`);
    else lines.push(`${indent}${key}: ${pick(SCALARS)}`);
  }
  return lines.join("\n");
}

function bomb(levels: number): string {
  const out = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < levels; i++) out.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(", ")}]`);
  return out.join("\n");
}

const dir = mkdtempSync(join(tmpdir(), "rodent-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Per key, YAML scalars the schema must accept and ones it must refuse, written down here by hand:
 * the oracle the generated documents are checked against, independent of the loader.
 */
const ORACLE: Record<string, { good: string[]; bad: string[] }> = {
  "server.port": { good: ["8042", "0", "65535", "1"], bad: ["65536", "-1", "1.5", "'80'", "true", "[]"] },
  "server.host": { good: ["127.0.0.1", "localhost", "'::1'"], bad: ["''", "[]", "{}", "8042"] },
  "server.logLevel": { good: ["info", "debug", "silent", "trace"], bad: ["loud", "INFO", "1", "~"] },
  "server.socketMode": { good: ["'0660'", "'600'"], bad: ["0660", "'0999'", "'rw'"] },
  "server.shutdownTimeout": { good: ["30s", "100ms", "1h", "1.5s"], bad: ["99ms", "2h", "30", "soon", "0s"] },
  "server.shutdownDelay": { good: ["0s", "255s", "4m"], bad: ["256s", "1h", "-1s"] },
  "server.idleTimeout": { good: ["1s", "75s", "255s"], bad: ["256s", "500ms", "0s"] },
  "server.requestTimeout": { good: ["1s", "60s", "1h"], bad: ["999ms", "61m", "60"] },
  "server.bodyLimit": { good: ["0", "1048576"], bad: ["-1", "1.5", "'1k'", "4294967296"] },
  "server.daemonize": { good: ["true", "false"], bad: ["yes", "'true'", "1"] },
  "health.endpoint": { good: ["/health", "/x/y"], bad: ["health", "'/a b'", "/a?b"] },
  "health.interval": { good: ["1s", "30s", "1h"], bad: ["0s", "999ms", "61m"] },
  "logs.output": { good: ["stdout", "file"], bad: ["syslog", "''"] },
  "logs.format": { good: ["pretty", "json"], bad: ["xml", "[]"] },
  "logs.access": { good: ["true", "false"], bad: ["on", "'false'", "0"] },
  "development.enabled": { good: ["true", "false"], bad: ["no", "2"] },
};
const UNKNOWN = ["server.prot", "health.intervall", "logs.acess"];

/** A document with known keys set to good values and at most one defect; the key the defect must be reported under. */
function oracleDocument(): { text: string; defect: string | undefined } {
  const keys = Object.keys(ORACLE);
  const chosen = new Map<string, string>();
  for (let n = 1 + rand(5); chosen.size < n; ) {
    const key = pick(keys);
    chosen.set(key, pick(ORACLE[key]!.good));
  }
  let defect: string | undefined;
  const kind = rand(3);
  if (kind === 1) {
    defect = pick([...chosen.keys()]);
    chosen.set(defect, pick(ORACLE[defect]!.bad));
  } else if (kind === 2) {
    defect = pick(UNKNOWN);
    chosen.set(defect, "1");
  }
  const sections = new Map<string, string[]>();
  for (const [key, value] of chosen) {
    const [section, name] = key.split(".") as [string, string];
    sections.set(section, [...(sections.get(section) ?? []), `  ${name}: ${value}`]);
  }
  const text = [...sections].map(([section, lines]) => `${section}:\n${lines.join("\n")}`).join("\n");
  return { text: `${text}\n`, defect };
}

describe("config fuzzing", () => {
  test("3000 generated documents and env values: valid or a ConfigError with every problem named, each quickly", async () => {
    const file = join(dir, "fuzz.yml");
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 3000; i++) {
      const text = i % 100 === 99 ? bomb(3 + rand(6)) : i % 7 === 0 ? document().slice(0, rand(200)) : document();
      writeFileSync(file, text);
      const env: Record<string, string> = {};
      if (rand(3) === 0) env[pick(["RODENT_SERVER_PORT", "RODENT_SERVER_TRUSTPROXY", "RODENT_LOGS_ACCESS", "RODENT_SERVER_SHUTDOWNTIMEOUT", "RODENT_NOPE"])] = pick(SCALARS);
      const started = performance.now();
      try {
        await loadConfig({ file, env, flags: {} });
        valid++;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw new Error(`not a ConfigError for:\n${text}\n${error}`);
        for (const p of error.problems) {
          expect(p.source.length).toBeGreaterThan(0);
          expect(p.key.length).toBeGreaterThan(0);
          expect(p.message.length).toBeGreaterThan(0);
        }
        invalid++;
      }
      expect(performance.now() - started).toBeLessThan(1000);
    }
    // both verdicts well represented: a loader that accepted or refused everything would fail here
    expect(valid).toBeGreaterThan(300);
    expect(invalid).toBeGreaterThan(300);
  });

  test("1000 documents with at most one known defect: the verdict and the key named match a hand-written oracle", async () => {
    const file = join(dir, "oracle.yml");
    const verdicts = { valid: 0, invalid: 0 };
    for (let i = 0; i < 1000; i++) {
      const { text, defect } = oracleDocument();
      writeFileSync(file, text);
      let named: string[] = [];
      try {
        await loadConfig({ file, env: {}, flags: {} }, { strict: true });
        verdicts.valid++;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        named = error.problems.map((p) => p.key);
        verdicts.invalid++;
      }
      expect({ text, named }).toEqual({ text, named: defect ? [defect] : [] });
    }
    expect(verdicts.valid).toBeGreaterThan(200);
    expect(verdicts.invalid).toBeGreaterThan(400);
  });

  test("generated documents through 'rodent config check': exit 0 or 1 with a line per problem, never a crash", async () => {
    const d = tempDir();
    const file = join(d, "rodent.yml");
    for (let i = 0; i < 60; i++) {
      writeFileSync(file, i % 10 === 0 ? bomb(9) : document());
      const r = await runRodent(["config", "check", "-c", file, "--port", "0"], { env: { HOME: d }, timeoutMs: 10_000 });
      expect([0, 1]).toContain(r.code);
      if (r.code === 1) expect(r.stderr).toMatch(/^(invalid configuration|configuration is valid but)/);
      expect(r.stderr).not.toContain("unexpected error");
    }
  });

  test("generated documents through SIGHUP: the running config changes only to a valid one, and it stays ready", async () => {
    const d = tempDir();
    const file = join(d, "rodent.yml");
    writeFileSync(file, "server:\n  logLevel: info\n");
    const s = await startServer(["-c", file, "--dev"], { env: { HOME: d } });
    const outcomes = () => s.output().match(/reload (applied|rejected)/g) ?? [];
    for (let i = 0; i < 30; i++) {
      const before = await getJson(`${s.url}/debug/config`);
      writeFileSync(file, i % 5 === 0 ? bomb(9) : document());
      const seen = outcomes().length;
      s.signal("SIGHUP");
      await waitFor(() => outcomes().length > seen, 5000, "a reload outcome logged");
      const after = await getJson(`${s.url}/debug/config`);
      if (outcomes().at(-1) === "reload rejected") expect(after.hash).toBe(before.hash);
      else expect(after.generation).toBe(before.generation + 1);
      expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    }
    expect(s.output()).toContain("reload rejected");
  });
});
