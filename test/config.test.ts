import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, getJson, runRodent, spawnRodent, startServer, tempDir, waitFor } from "./helpers";

describe("configuration sources", () => {
  test("the port comes from flag > env > file > default", async () => {
    const dir = tempDir();
    const [fromFile, fromEnv, fromFlag] = await Promise.all([freePort(), freePort(), freePort()]);
    const file = join(dir, "custom.yml");
    writeFileSync(file, `server:\n  port: ${fromFile}\n`);
    const print = async (args: string[], env: Record<string, string> = {}) =>
      JSON.parse((await runRodent(["config", "print", "--json", ...args], { env: { HOME: dir, ...env } })).stdout);
    expect((await print([])).config.server.port).toBe(8042);
    expect((await print(["-c", file])).config.server.port).toBe(fromFile);
    expect((await print(["-c", file], { RODENT_SERVER_PORT: String(fromEnv) })).config.server.port).toBe(fromEnv);
    const top = await print(["-c", file, "--port", String(fromFlag)], { RODENT_SERVER_PORT: String(fromEnv) });
    expect(top.config.server.port).toBe(fromFlag);
    expect(top.origins["server.port"]).toBe("flag --port");
    // and a running server really listens where the winner says
    const s = spawnRodent(["serve", "-c", file, "--port", String(fromFlag), "--pid-file", join(dir, "r.pid")], { env: { HOME: dir, RODENT_SERVER_PORT: String(fromEnv) } });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${fromFlag}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status === 200);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });

  test("./rodent.yml in the working directory is found without -c", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "rodent.yml"), "server:\n  port: 9123\n");
    const { stdout } = await runRodent(["config", "print"], { cwd: dir, env: { HOME: dir } });
    expect(stdout).toContain(`server.port: 9123  # file ${join(dir, "rodent.yml")}:2`);
  });

  test("serve with a bad config exits 1 listing every problem and leaves no PID file", async () => {
    const dir = tempDir();
    const file = join(dir, "bad.yml");
    writeFileSync(file, "server:\n  port: 99999\n  logLevel: loud\n");
    const r = spawnRodent(["serve", "-c", file, "--pid-file", join(dir, "r.pid")], { env: { HOME: dir } });
    expect(await r.exited()).toBe(1);
    expect(r.output()).toContain("invalid configuration (2 problems)");
    expect(r.output()).toContain(`file ${file}:2: server.port:`);
    expect(r.output()).toContain(`file ${file}:3: server.logLevel:`);
    expect(existsSync(join(dir, "r.pid"))).toBe(false);
  });

  test("serve -c with a missing file is an error naming it", async () => {
    const dir = tempDir();
    const r = await runRodent(["serve", "-c", join(dir, "nope.yml")], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, "nope.yml")}: (file): no such file`);
  });
});

describe("rodent config check", () => {
  const check = async (yaml: string) => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, yaml);
    return { file, ...(await runRodent(["config", "check", "-c", file], { env: { HOME: dir } })) };
  };

  test("a valid file passes with exit 0", async () => {
    const port = await freePort();
    const r = await check(`server:\n  port: ${port}\n`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`configuration OK: ${r.file}`);
  });

  test("port 99999 names server.port, the line, the expectation and the value", async () => {
    const r = await check("server:\n  port: 99999\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/:2: server\.port: expected a port from 1 to 65535 \(found 99999\)/);
  });

  test("a typo names the unknown key and suggests the right one", async () => {
    const r = await check("server:\n  prot: 8042\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(":2: server.prot: unknown key; did you mean server.port?");
  });

  test("broken YAML names the line", async () => {
    const r = await check("server:\n  port: 8042\n  port: 8043\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`file ${r.file}:3: \\(yaml\\): Map keys must be unique`));
    const unclosed = await check("environment: test\nserver:\n  host: [oops\n");
    expect(unclosed.code).toBe(1);
    expect(unclosed.stderr).toMatch(new RegExp(`file ${unclosed.file}:\\d+: \\(yaml\\): `));
  });

  test("the compiled binary (Bun.YAML for a usual file) and the Node bundle (the yaml package) say the same, line for line", async () => {
    const files = [
      "# a usual file with two mistakes\nenvironment: staging\n\nserver:\n  host: 127.0.0.1\n  port: 99999   # typo\n  trustProxy: [\"10.0.0.0/8\", \"::1\"]\nlogs:\n  formt: json\n  access: maybe\n",
      "server:\n  shutdownTimeout: 30s\n  trustProxy:\n    - 10.0.0.0/8\n    - nonsense\nhealth:\n  interval: 0s\n",
      "server:\n  port: 8042\n  port: 8043\n",
      "server: {port: 99999}\n",
    ];
    for (const yaml of files) {
      const dir = tempDir();
      const file = join(dir, "rodent.yml");
      writeFileSync(file, yaml);
      const [bun, node] = await Promise.all([runRodent(["config", "check", "-c", file], { env: { HOME: dir } }), runRodent(["config", "check", "-c", file], { runtime: "node", env: { HOME: dir } })]);
      expect(bun.code).toBe(1);
      expect([bun.code, bun.stderr]).toEqual([node.code, node.stderr]);
      expect(bun.stderr).toMatch(new RegExp(`file ${file}:\\d+: `));
    }
  });

  test("a port held by another program fails; one held by our own running instance passes", async () => {
    const s = await startServer();
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, `server:\n  port: ${s.port}\n`);
    const other = await runRodent(["config", "check", "-c", file, "--pid-file", join(dir, "none.pid")], { env: { HOME: dir } });
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`port ${s.port} on 127.0.0.1 is in use by another program`);
    const own = await runRodent(["config", "check", "-c", file, "--pid-file", s.pidFile], { env: { HOME: dir } });
    expect(own.code).toBe(0);
  });
});

describe("rodent config init", () => {
  test("writes a commented default file that checks clean, and never overwrites without --force", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    const first = await runRodent(["config", "init", file]);
    expect(first.code).toBe(0);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# address to listen on");
    expect(text).toContain("  port: 8042");
    expect(text).toContain("RODENT_SERVER_PORT");
    writeFileSync(file, text.replace("port: 8042", `port: ${await freePort()}`));
    expect((await runRodent(["config", "check", "-c", file])).code).toBe(0);
    const again = await runRodent(["config", "init", file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists; use --force");
    expect((await runRodent(["config", "init", file, "--force"])).code).toBe(0);
  });
});

describe("reload on SIGHUP", () => {
  async function withFile(yaml: string) {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, yaml);
    const s = await startServer(["-c", file, "--dev"], { env: { HOME: dir } });
    return { s, file };
  }

  test("a good change is applied live and visible in /debug/config and /health", async () => {
    const { s, file } = await withFile("server:\n  logLevel: info\n");
    const before = await getJson(`${s.url}/debug/config`);
    writeFileSync(file, "server:\n  logLevel: debug\nhealth:\n  endpoint: /healthz\n");
    s.signal("SIGHUP");
    await s.waitForOutput(/reload applied/);
    const after = await getJson(`${s.url}/debug/config`);
    expect(after.config.server.logLevel).toBe("debug");
    expect(after.generation).toBe(before.generation + 1);
    expect(after.hash).not.toBe(before.hash);
    expect(s.output()).toMatch(/reload applied: config [0-9a-f]{8} \(generation 2\), changed server\.logLevel, health\.endpoint/);
    const health = await getJson(`${s.url}/healthz`);
    expect(health).toMatchObject({ config: after.hash, generation: 2 });
  });

  test("a restart-only change is reported and does not move the listener", async () => {
    const { s, file } = await withFile("server:\n  logLevel: info\n");
    writeFileSync(file, `server:\n  logLevel: info\n  host: 127.0.0.2\n`);
    s.signal("SIGHUP");
    await s.waitForOutput(/take effect on the next restart: server\.host/);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    expect((await getJson(`${s.url}/debug/config`)).config.server.host).toBe("127.0.0.1");
  });

  for (const [what, yaml] of [
    ["broken YAML", "server:\n  logLevel: [debug\n"],
    ["a bad value", "server:\n  logLevel: loud\n  shutdownTimeout: never\n"],
  ] as const) {
    test(`${what} is rejected: the old config stays, the server stays ready, every error is logged`, async () => {
      const { s, file } = await withFile("server:\n  logLevel: info\n");
      const before = await getJson(`${s.url}/debug/config`);
      writeFileSync(file, yaml);
      s.signal("SIGHUP");
      await s.waitForOutput(/reload rejected/);
      expect(await getJson(`${s.url}/debug/config`)).toEqual(before);
      expect((await fetch(`${s.url}/ready`)).status).toBe(200);
      if (what === "a bad value") {
        expect(s.output()).toContain("server.logLevel");
        expect(s.output()).toContain("server.shutdownTimeout");
      }
    });
  }

  test("reloads under load drop no request", async () => {
    const { s, file } = await withFile("server:\n  logLevel: info\n");
    let failures = 0;
    let done = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && done < 20_000) {
        const ok = await fetch(`${s.url}/api/v1/rodent/version`).then((r) => r.status === 200, () => false);
        if (!ok) failures++;
        done++;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let i = 0; i < 10; i++) {
      writeFileSync(file, `server:\n  logLevel: ${i % 2 ? "info" : "warn"}\n`);
      s.signal("SIGHUP");
      await Bun.sleep(100);
    }
    stop = true;
    await Promise.all(workers);
    expect(done).toBeGreaterThan(100);
    expect(failures).toBe(0);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
  });
});
