// Test helpers: spawn the compiled binary (or the Node bundle), wait on conditions, free ports,
// temp dirs, and kill only what a test started, by PID, after each test.
import { expect } from "bun:test";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

export { isAlive, migrateQueuedConnections } from "./machine-state";

export const ROOT = resolve(import.meta.dir, "..");

if (!existsSync(join(ROOT, "dist/rodent")) || !existsSync(join(ROOT, "dist/rodent.mjs"))) {
  throw new Error("dist/rodent or dist/rodent.mjs is missing: run 'npm test' (it builds first) or 'npm run build'");
}

/**
 * Where the tests run the programs from: dist/ itself, or, when the tests run as root from a
 * checkout other users cannot reach (a clone under /root or in a `mktemp -d` directory, both 0700),
 * a copy in a world-readable directory, so the second local user and nobody can execute it too.
 * Every test of a file uses the same copy, so identity checks (same executable) see one file.
 */
const PROGRAMS = process.getuid?.() === 0 && !reachableByOthers(join(ROOT, "dist")) ? programsCopy() : join(ROOT, "dist");
export const BIN = join(PROGRAMS, "rodent");
export const BUNDLE = join(PROGRAMS, "rodent.mjs");

function reachableByOthers(dir: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false;
    if (at === dirname(at)) return true;
  }
}

/**
 * dist/'s programs in a new world-readable temp dir: hard links, which cost nothing (each test
 * file running in its own worker makes one; a copy of the binary is 100 MB), or copies where a
 * link cannot be made (another file system) or the built file's mode would not let others run it.
 */
function programsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "rodent-dist-"));
  chmodSync(dir, 0o755);
  for (const [name, mode] of [["rodent", 0o755], ["rodent.mjs", 0o644]] as const) {
    const from = join(ROOT, "dist", name);
    const to = join(dir, name);
    try {
      if ((statSync(from).mode & 0o777) !== mode) throw new Error(`${from} is not mode ${mode.toString(8)}`);
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
      chmodSync(to, mode);
    }
  }
  return dir;
}

/**
 * Removes the copy programsCopy made, if any. test/setup.ts runs it after the last test of each
 * file (a file has its own module registry in a parallel worker; a serial run, one for all files).
 */
export function removeProgramsCopy(): void {
  if (PROGRAMS !== join(ROOT, "dist")) rmSync(PROGRAMS, { recursive: true, force: true });
}

const started = new Set<number>();
const dirs = new Set<string>();

/**
 * Kills what the test started and removes its temp dirs. test/setup.ts (preloaded by bunfig.toml)
 * runs it after every test in every file: a hook registered here would bind to the first file
 * that imports this module only, since all test files share one module registry.
 */
export function cleanUp(): void {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  started.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Registers a PID a test caused to exist (e.g. a daemon), so afterEach kills it if still alive. */
export function track(pid: number): void {
  started.add(pid);
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rodent-test-"));
  // open to the unprivileged user some tests run as; the tests own what is inside
  chmodSync(dir, 0o777);
  dirs.add(dir);
  return dir;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface Running {
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or 128+signal); rejects after timeoutMs. */
  exited(timeoutMs?: number): Promise<number>;
  signal(sig: NodeJS.Signals): void;
  /** Resolves once the output matches, rejects with the output after timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** "node" runs dist/rodent.mjs with node. */
  runtime?: "bun" | "node";
  /** Run as the unprivileged user "nobody" when the tests run as root (mode bits matter then). */
  unprivileged?: boolean;
  /** Wraps the command line, e.g. `otherUser().run` to run it as the second local user. */
  wrap?: (cmd: string[]) => string[];
}

/** The command prefix that drops root to nobody; empty when not root. */
export function dropRoot(): string[] {
  return process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
}

/** The system tools tests drive, and the Debian package each comes from (.ci/run installs them). */
const TOOLS: Record<string, string> = {
  nginx: "nginx-light", haproxy: "haproxy", wrk: "wrk", logrotate: "logrotate", python3: "python3", cc: "gcc",
  "systemd-notify": "systemd", "systemd-socket-activate": "systemd", "systemd-analyze": "systemd",
  unshare: "util-linux", setpriv: "util-linux", promtool: "prometheus", prometheus: "prometheus", curl: "curl",
};

/**
 * Fails the calling test with one line naming the Debian package when a system tool it drives is
 * missing: a test that cannot run its real client must not pass or skip silently.
 */
export function needTool(...tools: (keyof typeof TOOLS & string)[]): void {
  const missing = tools.filter((tool) => Bun.which(tool, { PATH: `${process.env.PATH}:/usr/sbin:/usr/bin:/sbin` }) === null);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => TOOLS[tool] ?? tool))].join(" ");
  throw new Error(`missing ${missing.join(", ")}: apt-get install -y ${packages} (.ci/run installs it; see the README's section on tests)`);
}

/**
 * The second local user that security tests attack as ("rodent-other", created with useradd the
 * first time, as CI does), or undefined when the tests do not run as root (the caller skips with a
 * reason). `run` prefixes a command so it runs as that user.
 */
export function otherUser(): { name: string; uid: number; gid: number; run: (cmd: string[]) => string[] } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = "rodent-other";
  const id = () => Bun.spawnSync(["id", "-u", name]);
  // Test files in parallel workers may run useradd at the same moment: one creates the user, the
  // others fail (exit 9: it exists; exit 10: /etc/passwd is locked). The user existing is what counts.
  for (let attempt = 1; id().exitCode !== 0; attempt++) {
    const made = Bun.spawnSync(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name]);
    if (made.exitCode !== 0 && id().exitCode !== 0 && attempt >= 5) throw new Error(`useradd ${name} failed: ${made.stderr.toString()}`);
    if (made.exitCode !== 0) Bun.sleepSync(100 * attempt);
  }
  const uid = Number(id().stdout.toString().trim());
  const gid = Number(Bun.spawnSync(["id", "-g", name]).stdout.toString().trim());
  return { name, uid, gid, run: (cmd) => ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", ...cmd] };
}

export interface WrkResult {
  requests: number;
  non2xx: number;
  socketErrors: number;
  output: string;
}

/** Runs wrk against `url` for `seconds` and returns its counts of requests, non-2xx answers and socket errors. */
export async function wrk(url: string, seconds: number): Promise<WrkResult> {
  return wrkUntilStopped(url, seconds).stop(false);
}

/**
 * Starts wrk against `url` (2 threads, 16 connections), running until `stop()` sends it SIGINT
 * (it then reports what it did) or `seconds` pass. `stop()` resolves with its counts of requests,
 * non-2xx answers and socket errors; `stop(false)` waits for the run to end by itself.
 */
export function wrkUntilStopped(url: string, seconds = 60): { stop(interrupt?: boolean): Promise<WrkResult> } {
  const proc = Bun.spawn(["wrk", "-t2", "-c16", `-d${seconds}s`, "--timeout", "5s", url], { stdout: "pipe", stderr: "pipe" });
  track(proc.pid);
  const text = new Response(proc.stdout).text();
  return {
    async stop(interrupt = true) {
      if (interrupt) proc.kill("SIGINT");
      const output = await text;
      await proc.exited;
      const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
      const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
      const socketErrors = errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
      return { requests, non2xx, socketErrors, output };
    },
  };
}

/**
 * Waits until each of `instances` has written `bytes` more output (its access lines: some 300
 * bytes a request) than when called: proof that a load reaches every one of them.
 */
export async function servedMore(instances: Running[], bytes: number, timeoutMs = 10_000): Promise<void> {
  const from = instances.map((r) => r.output().length);
  await waitFor(() => instances.every((r, i) => r.output().length >= from[i]! + bytes), timeoutMs, () => `${bytes} more bytes of access lines from PIDs ${instances.map((r) => r.pid).join(", ")}`);
}

/**
 * Runs `scenario` for the compiled binary and the Node bundle at the same time (for scenarios that
 * mostly wait), and fails with each failed runtime's message prefixed by its name.
 */
export async function inBothRuntimes(scenario: (runtime: "bun" | "node") => Promise<void>): Promise<void> {
  const runtimes = ["bun", "node"] as const;
  const results = await Promise.allSettled(runtimes.map((runtime) => scenario(runtime)));
  const failed = results.flatMap((result, i) => (result.status === "rejected" ? [`${runtimes[i]}: ${result.reason instanceof Error ? result.reason.message : String(result.reason)}`] : []));
  if (failed.length > 0) throw new Error(failed.join("\n\n"));
}

/** Runs `cmd` as the second local user (see otherUser) and requires it to succeed. */
export function asOther(cmd: string[]): void {
  const other = otherUser();
  if (!other) throw new Error("asOther needs root: the second local user cannot be made otherwise");
  const done = Bun.spawnSync(other.run(cmd), { stdout: "pipe", stderr: "pipe" });
  if (done.exitCode !== 0) throw new Error(`${cmd.join(" ")} as ${other.name} failed: ${done.stderr.toString()}`);
}

/** One line on stderr naming the problem: no stack trace, no "unexpected error". */
export function expectOneLine(stderr: string): void {
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(stderr).not.toContain("unexpected error");
  expect(stderr).not.toMatch(/^\s+at /m);
}

/** Starts rodent with `args`; its HOME and XDG_RUNTIME_DIR point into a temp dir unless given. */
export function spawnRodent(args: string[], options: SpawnOptions = {}): Running {
  const home = options.env?.HOME ?? tempDir();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...cleanEnv(), HOME: home, XDG_RUNTIME_DIR: home, ...options.env })) if (v !== undefined) env[k] = v;
  const base = [...(options.unprivileged ? dropRoot() : []), ...(options.runtime === "node" ? ["node", BUNDLE, ...args] : [BIN, ...args])];
  const cmd = options.wrap ? options.wrap(base) : base;
  const proc = Bun.spawn(cmd, { cwd: options.cwd ?? home, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  started.add(proc.pid);
  let text = "";
  const waiters = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      for (const w of waiters) w();
    }
  };
  const pumps = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  return {
    pid: proc.pid,
    output: () => text,
    async exited(timeoutMs = 20_000) {
      const code = await withTimeout(proc.exited, timeoutMs, () => `rodent (PID ${proc.pid}) did not exit within ${timeoutMs} ms; output:\n${text}`);
      await withTimeout(pumps, 2000, () => "output streams did not close");
      started.delete(proc.pid);
      return proc.signalCode ? 128 + signalNumber(String(proc.signalCode)) : code;
    },
    signal(sig) {
      process.kill(proc.pid, sig);
    },
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((done, fail) => {
        const check = () => {
          const match = text.match(pattern);
          if (match) {
            waiters.delete(check);
            clearTimeout(timer);
            done(match);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`no ${pattern} in the output within ${timeoutMs} ms; output:\n${text}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs rodent to completion: exit code, stdout and stderr. */
export async function runRodent(args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = options.env?.HOME ?? tempDir();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...cleanEnv(), HOME: home, XDG_RUNTIME_DIR: home, ...options.env })) if (v !== undefined) env[k] = v;
  const base = options.runtime === "node" ? ["node", BUNDLE, ...args] : [BIN, ...args];
  const cmd = options.wrap ? options.wrap(base) : base;
  const proc = Bun.spawn(cmd, { cwd: options.cwd ?? home, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  started.add(proc.pid);
  const [stdout, stderr, code] = await withTimeout(
    Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]),
    options.timeoutMs ?? 20_000,
    () => `rodent ${args.join(" ")} did not finish in time`,
  );
  started.delete(proc.pid);
  return { code, stdout, stderr };
}

/** The environment without rodent's own variables or a supervisor's. */
export function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("RODENT_") || k === "NOTIFY_SOCKET" || k === "INVOCATION_ID") delete env[k];
  return env;
}

/**
 * Polls `check` every 20 ms until it returns a truthy value; rejects after timeoutMs. `what` may be
 * a function: it is called only when the wait fails, so it can show output gathered meanwhile.
 */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 15_000, what: string | (() => string) = "condition"): Promise<T> {
  const until = Date.now() + timeoutMs;
  const late = Symbol("late");
  for (;;) {
    // a check that hangs (a request that is never answered) must not outlive the bound either
    const value = await Promise.race([check(), Bun.sleep(Math.max(1, until - Date.now())).then(() => late)]);
    if (value !== late && value) return value as T;
    if (Date.now() > until) throw new Error(`${typeof what === "function" ? what() : what} not met within ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}

/** GET `url` and parse the JSON body (typed loosely: tests assert on its shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function getJson(url: string, init?: RequestInit): Promise<any> {
  return (await fetch(url, init)).json();
}

/** Starts `rodent serve` on a free port with a PID file in a temp dir and waits for /ready. */
export async function startServer(extra: string[] = [], options: SpawnOptions = {}): Promise<Running & { port: number; url: string; dir: string; pidFile: string }> {
  const dir = options.env?.HOME ?? tempDir();
  const port = await freePort();
  const pidFile = join(dir, "rodent.pid");
  const running = spawnRodent(["serve", "--port", String(port), "--pid-file", pidFile, ...extra], { ...options, env: { HOME: dir, ...options.env } });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try {
      return (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) })).status === 200;
    } catch {
      return false;
    }
  }, 15_000, () => `rodent ready on ${url}; output: ${running.output()}`);
  return { ...running, port, url, dir, pidFile };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function signalNumber(name: string): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[name] ?? 0;
}
