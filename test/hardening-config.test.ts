// Issue 16, config items: every reload reports an outcome, durations have bounds, a reload never
// swaps in the defaults for a file that is gone, `config init` never writes through a symlink, and
// reading a config file is bounded (size, keys, FIFOs) with one line per failure.
import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dropRoot, getJson, runRodent, startServer, tempDir, waitFor } from "./helpers";

/** A failure a user caused: exit 1, one line on stderr, no stack trace. */
function expectOneLine(r: { code: number; stderr: string }, ...parts: string[]): void {
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
  for (const part of parts) expect(r.stderr).toContain(part);
}

async function serveWithFile(yaml: string, options: { viaCwd?: boolean } = {}) {
  const dir = tempDir();
  const file = join(dir, "rodent.yml");
  writeFileSync(file, yaml);
  const s = await startServer(options.viaCwd ? ["--dev"] : ["-c", file, "--dev"], { env: { HOME: dir }, cwd: dir });
  const reload = () => runRodent(["reload", "--pid-file", s.pidFile], { env: { HOME: dir }, timeoutMs: 30_000 });
  return { s, file, dir, reload };
}

describe("every reload reports an outcome", () => {
  test("a config the schema passes but the instance cannot apply is reported rejected at once; the old config stays", async () => {
    const { s, file, reload } = await serveWithFile("server:\n  logLevel: info\n");
    const before = await getJson(`${s.url}/debug/config`);
    writeFileSync(file, "server:\n  logLevel: debug\n  trustProxy: [999.1.1.1]\n");
    const started = Date.now();
    const r = await reload();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("reload rejected; the running config stays");
    expect(r.stderr).toContain("999.1.1.1");
    expect(await getJson(`${s.url}/debug/config`)).toEqual(before);
    // and the next good one is applied and reported
    writeFileSync(file, "server:\n  logLevel: debug\n");
    const next = await reload();
    expect(next.code).toBe(0);
    expect(next.stdout).toContain("changed server.logLevel");
  });

  test("'rodent reload' while the instance drains says so at once instead of waiting for an outcome", async () => {
    const { s, reload } = await serveWithFile("server:\n  shutdownDelay: 8s\n");
    s.signal("SIGTERM");
    await s.waitForOutput(/shutting down/);
    const started = Date.now();
    const r = await reload();
    expect(Date.now() - started).toBeLessThan(5000);
    expectOneLine(r, "is shutting down", "nothing was reloaded");
  });
});

describe("durations have bounds", () => {
  const check = async (yaml: string, args: string[] = []) => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, yaml);
    return { file, ...(await runRodent(["config", "check", "-c", file, "--port", "0", ...args], { env: { HOME: dir } })) };
  };

  test("health.interval: 0s is refused naming the key, the bounds and the value found", async () => {
    const r = await check("health:\n  interval: 0s\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`file ${r.file}:2: health.interval: expected a duration from 1s to 1h (found "0s")`);
  });

  test("each duration key refuses a value past its maximum, from the file, the environment and a flag", async () => {
    const r = await check("server:\n  idleTimeout: 256s\n  shutdownDelay: 5m\n  requestTimeout: 500ms\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`:2: server.idleTimeout: expected a duration from 1s to 255s (found "256s")`);
    expect(r.stderr).toContain(`:3: server.shutdownDelay: expected a duration from 0s to 255s (found "5m")`);
    expect(r.stderr).toContain(`:4: server.requestTimeout: expected a duration from 1s to 1h (found "500ms")`);
    const env = await runRodent(["config", "check", "-c", "/dev/null", "--port", "0"], { env: { RODENT_HEALTH_INTERVAL: "2h" } });
    expect(env.stderr).toContain(`env RODENT_HEALTH_INTERVAL: health.interval: expected a duration from 1s to 1h (found "2h")`);
    const flag = await check("", ["--shutdown-timeout", "10ms"]);
    expect(flag.stderr).toContain(`flag --shutdown-timeout: server.shutdownTimeout: expected a duration from 100ms to 1h (found "10ms")`);
  });

  test("serve refuses a zero heartbeat instead of rewriting its status record hundreds of times a second", async () => {
    const dir = tempDir();
    const r = await runRodent(["serve", "--port", "0", "--pid-file", join(dir, "r.pid")], { env: { HOME: dir, RODENT_HEALTH_INTERVAL: "0s" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("health.interval: expected a duration from 1s to 1h");
    expect(readdirSync(dir).filter((f) => f.startsWith("r.pid"))).toEqual([]);
  });
});

describe("a reload re-reads the file the instance started from", () => {
  test("after ./rodent.yml (found without -c) is deleted, a reload is rejected and the old config stays", async () => {
    const { s, file, reload } = await serveWithFile("server:\n  logLevel: warn\n", { viaCwd: true });
    const before = await getJson(`${s.url}/debug/config`);
    expect(before.file).toBe(file);
    unlinkSync(file);
    const r = await reload();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: (file): the file this instance was started from is gone`);
    expect(await getJson(`${s.url}/debug/config`)).toEqual(before);
  });

  for (const [what, replace] of [
    ["a directory", (file: string) => mkdirSync(file)],
    ["a FIFO", (file: string) => execFileSync("mkfifo", [file])],
  ] as const) {
    test(`a -c file replaced by ${what} is rejected at once; /health keeps answering`, async () => {
      const { s, file, reload } = await serveWithFile("server:\n  logLevel: warn\n");
      const before = await getJson(`${s.url}/debug/config`);
      unlinkSync(file);
      replace(file);
      const r = await reload();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file}: (file): `);
      expect((await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(2000) })).status).toBe(200);
      expect(await getJson(`${s.url}/debug/config`)).toEqual(before);
    });
  }

  test("a -c file the instance can no longer read is rejected naming permission denied", async () => {
    if (process.getuid?.() !== 0) return; // mode bits stop only an unprivileged instance
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "server:\n  logLevel: warn\n");
    chmodSync(file, 0o644);
    const s = await startServer(["-c", file, "--dev"], { env: { HOME: dir }, unprivileged: true });
    chmodSync(file, 0o600);
    const r = await runRodent(["reload", "--pid-file", s.pidFile], { env: { HOME: dir }, unprivileged: true, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: (file): permission denied`);
  });
});

describe("config init never writes through a symlink", () => {
  test("a dangling symlink at the path is refused and its target is not created", async () => {
    const dir = tempDir();
    const path = join(dir, "rodent.yml");
    const target = join(dir, "elsewhere.txt");
    symlinkSync(target, path);
    const r = await runRodent(["config", "init", path]);
    expectOneLine(r, path, "symlink");
    expect(() => lstatSync(target)).toThrow();
    expect(readlinkSync(path)).toBe(target);
  });

  test("--force refuses a symlink and leaves its target alone", async () => {
    const dir = tempDir();
    const path = join(dir, "rodent.yml");
    const target = join(dir, "precious.txt");
    writeFileSync(target, "precious\n");
    symlinkSync(target, path);
    const r = await runRodent(["config", "init", path, "--force"]);
    expectOneLine(r, path, "symlink");
    expect(readFileSync(target, "utf8")).toBe("precious\n");
  });

  test("--force refuses a directory and replaces a regular file whole, leaving no temp file", async () => {
    const dir = tempDir();
    const sub = join(dir, "sub.yml");
    mkdirSync(sub);
    expectOneLine(await runRodent(["config", "init", sub, "--force"]), sub, "not a regular file");
    const path = join(dir, "rodent.yml");
    writeFileSync(path, "old: true\n");
    const r = await runRodent(["config", "init", path, "--force"]);
    expect(r.code).toBe(0);
    expect(readFileSync(path, "utf8")).toContain("  port: 8042");
    expect(readdirSync(dir).sort()).toEqual(["rodent.yml", "sub.yml"]);
  });

  test("a path in a missing directory is one line naming it", async () => {
    const dir = tempDir();
    expectOneLine(await runRodent(["config", "init", join(dir, "no/such/rodent.yml")]), join(dir, "no/such/rodent.yml"));
  });
});

describe("reading a config file is bounded", () => {
  const checkFile = (file: string, options: { unprivileged?: boolean } = {}) =>
    runRodent(["config", "check", "-c", file, "--port", "0"], { timeoutMs: 15_000, wrap: options.unprivileged ? (cmd) => [...dropRoot(), ...cmd] : undefined });

  test("a file over the size cap is refused naming the file and the cap, quickly", async () => {
    const dir = tempDir();
    const file = join(dir, "big.yml");
    writeFileSync(file, `server:\n${Array.from({ length: 40_000 }, (_, i) => `  k${i}: 1`).join("\n")}\n`);
    expectOneLine(await checkFile(file), file, "256 KiB");
  });

  test("a file under the size cap with too many keys is refused naming the cap, quickly", async () => {
    const dir = tempDir();
    const file = join(dir, "keys.yml");
    writeFileSync(file, `server:\n${Array.from({ length: 20_000 }, (_, i) => `  k${i}: 1`).join("\n")}\n`);
    const started = Date.now();
    const r = await checkFile(file);
    expect(Date.now() - started).toBeLessThan(10_000);
    expectOneLine(r, file, "20001 keys", "1000");
  });

  test("a reload of a file with 20 000 keys is rejected while /health keeps answering", async () => {
    const { s, file, reload } = await serveWithFile("server:\n  logLevel: warn\n");
    writeFileSync(file, `server:\n${Array.from({ length: 20_000 }, (_, i) => `  k${i}: 1`).join("\n")}\n`);
    const slowest = { ms: 0 };
    let stop = false;
    const probe = (async () => {
      while (!stop) {
        const t = Date.now();
        await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
        slowest.ms = Math.max(slowest.ms, Date.now() - t);
        await Bun.sleep(20);
      }
    })();
    const r = await reload();
    stop = true;
    await probe;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("keys; the cap is 1000");
    // parsing up to the cap takes a second or two on a loaded 2-core machine; the quadratic parse it
    // replaced held /health for minutes
    expect(slowest.ms).toBeLessThan(10_000);
  });

  for (const runtime of ["bun", "node"] as const) {
    for (const [what, make] of [
      ["a FIFO", (file: string) => execFileSync("mkfifo", [file])],
      ["a directory", (file: string) => mkdirSync(file)],
    ] as const) {
      test(`-c naming ${what} is one line at once, not a hang or a stack (${runtime})`, async () => {
        const dir = tempDir();
        const file = join(dir, "rodent.yml");
        make(file);
        expectOneLine(await runRodent(["config", "check", "-c", file, "--port", "0"], { runtime, timeoutMs: 15_000 }), file);
        const serve = await runRodent(["serve", "-c", file, "--pid-file", join(dir, "r.pid")], { runtime, timeoutMs: 15_000 });
        expectOneLine(serve, file);
      });
    }
  }

  test("-c /dev/zero is refused, not read forever", async () => {
    expectOneLine(await checkFile("/dev/zero"), "/dev/zero", "not a regular file");
  });

  test("an unreadable file is one line naming permission denied", async () => {
    if (process.getuid?.() !== 0) return; // mode bits do not stop root: the check runs as nobody
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "server:\n  port: 0\n");
    chmodSync(file, 0o600);
    expectOneLine(await checkFile(file, { unprivileged: true }), file, "permission denied");
  });

  for (const [what, yaml, says] of [
    ["an alias that contains itself", "server:\n  trustProxy: &x [*x]\n", "an alias refers to a node that contains it"],
    ["a second YAML document", "server:\n  port: 0\n---\nlogs: {}\n", ":3: (yaml): a config file holds one YAML document"],
    ["a !!binary value", "environment: !!binary aGk=\n", ":1: environment: expected a name"],
  ] as const) {
    test(`${what} is one line naming the file, never a stack`, async () => {
      const dir = tempDir();
      const file = join(dir, "rodent.yml");
      writeFileSync(file, yaml);
      expectOneLine(await checkFile(file), `file ${file}`, says);
    });
  }

  test("broken YAML through 'config print' and 'serve' is the problem list, never a stack", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "server: [\n");
    for (const args of [["config", "print"], ["serve", "--pid-file", join(dir, "r.pid")]]) {
      const r = await runRodent([...args, "-c", file], { timeoutMs: 15_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`file ${file}:`);
      expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
    }
  });
});
