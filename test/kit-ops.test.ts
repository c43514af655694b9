// The same application's config section, its name, its Node bundle, its restart under load, and
// the README's example, built and run.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, getJson, isAlive, migrateQueuedConnections, ROOT, runRodent, startServer, tempDir, track, waitFor } from "./helpers";
import { buildApp, lines, notes, notesBinary } from "./kit-fixture";

beforeAll(() => void notesBinary(), 60_000);

describe("an application's config section", () => {
  test("comes from the file, the environment (NOTES_<PLUGIN>_<KEY>) and defaults, each shown with its origin", async () => {
    const dir = tempDir();
    const file = join(dir, "notes.yml");
    writeFileSync(file, "store:\n  greeting: from the file\njobs:\n  failAfterMs: 0\n");
    const r = await runRodent(["config", "print", "-c", file], notes({ env: { HOME: dir, NOTES_JOBS_GATE: "/nowhere" } }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`store.greeting: "from the file"  # file ${file}:2`);
    expect(r.stdout).toContain('jobs.gate: "/nowhere"  # env NOTES_JOBS_GATE');
    expect(r.stdout).toContain("store.downFile: \"\"  # default");
    // ./notes.yml is the default file, beside the app's own name
    const cwd = await runRodent(["config", "print"], notes({ env: { HOME: dir }, cwd: dir }));
    expect(cwd.stdout).toContain(`# config `);
    expect(cwd.stdout).toContain(`from ${file}`);
  });

  test("is validated like rodent's own: every problem at once with file and line, unknown keys flagged", async () => {
    const dir = tempDir();
    const file = join(dir, "notes.yml");
    writeFileSync(file, "store:\n  greting: hi\njobs:\n  failAfterMs: soon\nserver:\n  port: 99999\n");
    const r = await runRodent(["config", "check", "-c", file], notes({ env: { HOME: dir } }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`file ${file}:2: store.greting: unknown key; did you mean store.greeting?`);
    expect(r.stderr).toMatch(new RegExp(`file ${file}:4: jobs.failAfterMs: .*found "soon"`));
    expect(r.stderr).toContain(`file ${file}:6: server.port`);
    const env = await runRodent(["config", "check"], notes({ env: { HOME: dir, NOTES_JOBS_THROWATSTART: "maybe", NOTES_STORE_NOPE: "1" }, cwd: dir }));
    expect(env.code).toBe(1);
    expect(env.stderr).toContain("env NOTES_JOBS_THROWATSTART: jobs.throwAtStart");
    expect(env.stderr).toContain("env NOTES_STORE_NOPE: NOTES_STORE_NOPE: not a notes setting");
  });

  test("config init writes the plugins' sections with their defaults and env names", async () => {
    const dir = tempDir();
    const r = await runRodent(["config", "init"], notes({ env: { HOME: dir }, cwd: dir }));
    expect(r.code).toBe(0);
    const text = readFileSync(join(dir, "notes.yml"), "utf8");
    expect(text).toContain("# notes configuration. Precedence: defaults < this file < NOTES_* environment < flags.");
    expect(text).toMatch(/\nstore:\n[\s\S]*\(env NOTES_STORE_GREETING\)\n  greeting: "hello"\n/);
    expect(text).toMatch(/\njobs:\n[\s\S]*\(env NOTES_JOBS_FAILAFTERMS\)\n  failAfterMs: 0\n/);
    expect((await runRodent(["config", "check", "-c", join(dir, "notes.yml")], notes({ env: { HOME: dir } }))).code).toBe(0);
  });

  test("a valid reload reaches reload(next, previous) and is applied; a refused or invalid one keeps every section", async () => {
    const dir = tempDir();
    const file = join(dir, "notes.yml");
    const events = join(dir, "events.log");
    writeFileSync(file, `store:\n  greeting: hello\n  events: ${events}\n`);
    const s = await startServer(["-c", file], notes({ env: { HOME: dir } }));
    const reload = () => runRodent(["reload", "--pid-file", s.pidFile], notes({ env: { HOME: dir } }));

    writeFileSync(file, `store:\n  greeting: bonjour\n  events: ${events}\n`);
    const applied = await reload();
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("changed store.greeting");
    expect(lines(events)).toContain("reload hello -> bonjour");
    expect((await getJson(`${s.url}/notes`)).greeting).toBe("bonjour");
    const hash = (await getJson(`${s.url}/health`)).config;

    // the hook refuses: rodent's own change in the same file is not applied either
    writeFileSync(file, `server:\n  logLevel: debug\nstore:\n  greeting: refuse\n  events: ${events}\n`);
    const refused = await reload();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`plugin "store" rejected the reload: greeting 'refuse' refused`);
    expect((await getJson(`${s.url}/notes`)).greeting).toBe("bonjour");
    expect((await getJson(`${s.url}/health`)).config).toBe(hash);

    writeFileSync(file, `store:\n  greeting: 42\n  events: ${events}\n`);
    const invalid = await reload();
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("store.greeting");
    expect((await getJson(`${s.url}/notes`)).greeting).toBe("bonjour");
  });
});

describe("the application's name", () => {
  test("version shows the app's version and the rodent it is built on; help names the app", async () => {
    const v = await runRodent(["version"], notes());
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^notes 2\.3\.4 \(rodent \d+\.\d+\.\d+\S*, commit \S+, built \S+, bun \d/);
    expect(JSON.parse((await runRodent(["version", "--json"], notes())).stdout)).toMatchObject({ name: "notes", version: "2.3.4" });
    const help = await runRodent(["help"], notes());
    expect(help.stdout).toContain("Usage: notes <command> [flags]");
    expect((await runRodent(["stop", "--help"], notes())).stdout).toContain("$NOTES_PID_PATH");
  });

  test("default paths, the PID file's owner and the environment prefix use the app's name", async () => {
    const home = tempDir();
    const port = await freePort();
    const env = { HOME: home, XDG_RUNTIME_DIR: join(home, "run") };
    const started = await runRodent(["serve", "-d", "--port", String(port)], notes({ env }));
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^notes is running as a daemon/);
    // as root the default is /run/notes/notes.pid, as a user $XDG_RUNTIME_DIR/notes/notes.pid
    const pidFile = process.getuid?.() === 0 ? "/run/notes/notes.pid" : join(home, "run", "notes", "notes.pid");
    const pid = Number(readFileSync(pidFile, "utf8"));
    track(pid);
    expect(started.stdout).toContain(`logs: ${process.getuid?.() === 0 ? "/var/log/notes/notes.log" : join(home, ".notes", "notes.log")}`);
    // the binary called notes recognises its own live instance
    const status = await runRodent(["status"], notes({ env }));
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`notes is running (PID ${pid})`);
    // rodent itself looks elsewhere and does not take it for its own
    expect((await runRodent(["status"], { env })).code).toBe(3);
    const stop = await runRodent(["stop"], notes({ env: { ...env, NOTES_PID_PATH: pidFile } }));
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`notes stopped (PID ${pid})`);
    expect(isAlive(pid)).toBe(false);
  });
});

describe("the application as a Node bundle", () => {
  test("serves its routes with request ids and closes in the same order on SIGTERM", async () => {
    const dir = tempDir();
    const events = join(dir, "events.log");
    const s = await startServer([], notes({ runtime: "node", env: { HOME: dir, NOTES_STORE_EVENTS: events } }));
    const res = await fetch(`${s.url}/notes`, { headers: { "x-request-id": "node-1" } });
    expect(res.headers.get("x-request-id")).toBe("node-1");
    expect(await getJson(`${s.url}/conn`)).toEqual({ address: "127.0.0.1" });
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    const pending = fetch(`${s.url}/slow?ms=500`).then((r) => r.status);
    await waitFor(() => lines(events).includes("request started"), 5000, "the slow request started");
    s.signal("SIGTERM");
    expect(await pending).toBe(200);
    expect(await s.exited()).toBe(0);
    expect(lines(events)).toEqual(["store opened", "request started", "request done", "flusher aborted", "flusher ended", "store closed (in time)"]);
  });
});

describe("restart of the application binary", () => {
  migrateQueuedConnections();

  test("3 restarts under steady load on an application route: zero failed requests, the plugins start anew each time", async () => {
    const dir = tempDir();
    const port = await freePort();
    const pidFile = join(dir, "notes.pid");
    const env = { HOME: dir };
    const started = await runRodent(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", join(dir, "notes.log")], notes({ env }));
    expect(started.code).toBe(0);
    const pid = () => Number(readFileSync(pidFile, "utf8"));
    track(pid());
    // the load runs until the restarts are done (wrk reports on SIGINT), at most 60 s
    const wrk = Bun.spawn(["wrk", "-t1", "-c16", "-d60s", "--timeout", "5s", `http://127.0.0.1:${port}/notes`], { stdout: "pipe", stderr: "pipe" });
    track(wrk.pid);
    await waitFor(() => readFileSync(join(dir, "notes.log"), "utf8").includes('"path":"/notes"'), 5000, "load reaching the app route");
    const pids = [pid()];
    for (let i = 0; i < 3; i++) {
      const r = await runRodent(["restart", "--pid-file", pidFile], { ...notes({ env }), timeoutMs: 45_000 });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`notes restarted: PID ${pids.at(-1)} → PID ${pid()}`);
      track(pid());
      pids.push(pid());
      await waitFor(async () => (await getJson(`http://127.0.0.1:${port}/health`)).pid === pid(), 5000, "the successor answering");
    }
    wrk.kill("SIGINT");
    const out = await new Response(wrk.stdout).text();
    await wrk.exited;
    expect(Number(/(\d+) requests in/.exec(out)?.[1] ?? 0)).toBeGreaterThan(1000);
    expect(out).not.toContain("Non-2xx");
    expect(out).not.toContain("Socket errors");
    // every instance opened its store and closed it after its drain
    const log = readFileSync(join(dir, "notes.log"), "utf8");
    expect(log.match(/"msg":"jobs started"/g)?.length).toBe(4);
    expect((await runRodent(["stop", "--pid-file", pidFile], notes({ env }))).code).toBe(0);
  }, 90_000);
});

describe("the README's example", () => {
  test("is test/fixtures/readme-example.ts, under 40 lines, and builds into a service that answers", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = /## Build your own service on rodent[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const example = readFileSync(join(ROOT, "test/fixtures/readme-example.ts"), "utf8");
    expect(block).toBe(example);
    expect(example.trim().split("\n").length).toBeLessThan(40);
    const bin = buildApp("test/fixtures/readme-example.ts", "notes", "example", ["--no-node"]);
    const asExample = (cmd: string[]) => [bin, ...cmd.slice(1)];
    const s = await startServer([], { wrap: asExample });
    expect(await getJson(`${s.url}/notes`)).toEqual({ greeting: "hello", notes: ["first"] });
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  }, 60_000);
});
