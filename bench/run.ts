// Benchmarks rodent against a bare Bun.serve, Hono on Bun.serve and rodent's Node bundle, side by
// side, alternating runs (A B A B …) and reporting medians and ratios. `npm run bench`.
// Everything talks to 127.0.0.1 only; every loop is bounded in count and time.
import { $ } from "bun";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const OUT = join(ROOT, "bench", "out");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ONLY = new Set((process.env.BENCH_ONLY ?? "startup,throughput,kit,notes,costs,latency,lifecycle").split(","));
const work = mkdtempSync(join(tmpdir(), "rodent-bench-"));
/**
 * An earlier build to compare with in the same run, side by side: BENCH_BEFORE_RODENT names its
 * dist/rodent, BENCH_BEFORE_COSTS its cost-ladder binary (bun build bench/baselines/costs.ts --compile).
 */
const BEFORE_RODENT = process.env.BENCH_BEFORE_RODENT;
const BEFORE_COSTS = process.env.BENCH_BEFORE_COSTS;

type Target = { name: string; cmd: (port: number, dir: string) => string[]; path?: string; env?: Record<string, string> };

const targets = {
  bare: { name: "bare Bun.serve", cmd: (port) => [join(OUT, "bare"), "--port", String(port)] },
  hono: { name: "Hono on Bun.serve", cmd: (port) => [join(OUT, "hono"), "--port", String(port)] },
  rodent: { name: "rodent (access log off)", cmd: (port, dir) => [join(ROOT, "dist/rodent"), "serve", "--port", String(port), "--pid-file", join(dir, "r.pid")] },
  rodentConfig: { name: "rodent with a typical config file", cmd: (port, dir) => [join(ROOT, "dist/rodent"), "serve", "--config", join(work, "rodent.yml"), "--port", String(port), "--pid-file", join(dir, "r.pid")] },
  rodentNoMetrics: { name: "rodent (access log and metrics off)", cmd: (port, dir) => [join(ROOT, "dist/rodent"), "serve", "--port", String(port), "--pid-file", join(dir, "r.pid")], env: { RODENT_METRICS_ENABLED: "false" } },
  rodentLog: { name: "rodent (access log to file)", cmd: (port, dir) => [join(ROOT, "dist/rodent"), "serve", "--port", String(port), "--pid-file", join(dir, "r.pid"), "--log-file", join(dir, "r.log")] },
  kit: {
    name: "an app route through the kit (access log off)",
    cmd: (port, dir) => [join(OUT, "benchapp"), "serve", "--port", String(port), "--pid-file", join(dir, "b.pid")],
    path: "/api/v1/app/version",
    env: { BENCHAPP_LOGS_ACCESS: "false" },
  },
  // examples/notes (access log off, as the other kit row) and its routes on bare Hono + bun:sqlite
  notes: {
    name: "dist/notes (access log off)",
    // env(1) execs notes in its place (same PID), with the database in the run's own directory
    cmd: (port, dir) => ["env", `NOTES_STORE_DATABASE=${join(dir, "data", "notes.db")}`, join(OUT, "notes"), "serve", "--port", String(port), "--pid-file", join(dir, "n.pid")],
    env: { NOTES_LOGS_ACCESS: "false" },
  },
  notesBare: { name: "the notes routes on bare Hono + bun:sqlite", cmd: (port, dir) => [join(OUT, "notes-bare"), "--port", String(port), "--database", join(dir, "data", "notes.db")] },
  node: { name: "rodent on Node (@hono/node-server)", cmd: (port, dir) => ["node", join(ROOT, "dist/rodent.mjs"), "serve", "--port", String(port), "--pid-file", join(dir, "r.pid")] },
  // the cost ladder: bare Bun.serve plus one thing rodent does per request
  costNothing: { name: "bare + nothing", cmd: (port) => [join(OUT, "costs"), "--port", String(port), "--add", "nothing"] },
  costReadId: { name: "bare + read X-Request-Id", cmd: (port) => [join(OUT, "costs"), "--port", String(port), "--add", "read-request-id"] },
  costRequestId: { name: "bare + request id (UUID)", cmd: (port) => [join(OUT, "costs"), "--port", String(port), "--add", "request-id"] },
  costCounterId: { name: "bare + request id (prefix and counter)", cmd: (port) => [join(OUT, "costs"), "--port", String(port), "--add", "request-id-counter"] },
  costAccessInputs: { name: "bare + what an access line reads", cmd: (port) => [join(OUT, "costs"), "--port", String(port), "--add", "access-inputs"] },
  costAccessLine: { name: "bare + what it reads + rodent's access line", cmd: (port, dir) => [join(OUT, "costs"), "--port", String(port), "--add", "access-line", "--log-file", join(dir, "c.log")] },
  costMetrics: { name: "bare + rodent's request counting (/metrics)", cmd: (port) => [join(OUT, "costs"), "--port", String(port), "--add", "request-metrics"] },
  costPeer: { name: "bare + peer address", cmd: (port) => [join(OUT, "costs"), "--port", String(port), "--add", "peer-address"] },
  // the same, from an earlier build (BENCH_BEFORE_*)
  rodentBefore: { name: "rodent before (access log off)", cmd: (port, dir) => [BEFORE_RODENT!, "serve", "--port", String(port), "--pid-file", join(dir, "r.pid")] },
  rodentConfigBefore: { name: "rodent before, with a typical config file", cmd: (port, dir) => [BEFORE_RODENT!, "serve", "--config", join(work, "rodent.yml"), "--port", String(port), "--pid-file", join(dir, "r.pid")] },
  rodentLogBefore: { name: "rodent before (access log to file)", cmd: (port, dir) => [BEFORE_RODENT!, "serve", "--port", String(port), "--pid-file", join(dir, "r.pid"), "--log-file", join(dir, "r.log")] },
  costAccessLineBefore: { name: "the access-line step, before", cmd: (port, dir) => [BEFORE_COSTS!, "--port", String(port), "--add", "access-line", "--log-file", join(dir, "c.log")] },
} satisfies Record<string, Target>;

const ENV_OFF = { RODENT_LOGS_ACCESS: "false" };
const LOG_OFF: ReadonlySet<string> = new Set(["rodent", "rodentNoMetrics", "node", "rodentBefore", "rodentConfig", "rodentConfigBefore"]);

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  console.error("building rodent and the baselines…");
  await $`bun ${join(ROOT, "build.ts")}`.cwd(ROOT).quiet();
  await $`bun build ${join(ROOT, "bench/baselines/bare.ts")} --compile --minify --outfile ${join(OUT, "bare")}`.quiet();
  await $`bun build ${join(ROOT, "bench/baselines/hono.ts")} --compile --minify --outfile ${join(OUT, "hono")}`.quiet();
  await $`bun build ${join(ROOT, "bench/baselines/costs.ts")} --compile --minify --outfile ${join(OUT, "costs")}`.quiet();
  await $`bun ${join(ROOT, "build.ts")} --entry ${join(ROOT, "bench/baselines/kitapp.ts")} --name benchapp --out-dir ${OUT} --no-node`.cwd(ROOT).quiet();
  // the config file a production instance starts with: what 'rodent config init' writes
  await $`${join(ROOT, "dist/rodent")} config init ${join(work, "rodent.yml")}`.quiet();
  await $`bun ${join(ROOT, "build.ts")} --entry ${join(ROOT, "examples/notes/main.ts")} --name notes --out-dir ${OUT} --no-node`.cwd(ROOT).quiet();
  await $`bun build ${join(ROOT, "bench/baselines/notes.ts")} --compile --minify --outfile ${join(OUT, "notes-bare")}`.quiet();
  const haveWrk = (await $`which wrk`.nothrow().quiet()).exitCode === 0;
  if (!haveWrk) throw new Error("wrk is needed for the load figures: apt-get install wrk");

  const results: Record<string, unknown> = {};
  const rows: Array<[string, string, string, string, string]> = [];
  const row = (figure: string, rodent: string, baseline: string, ratio: string, target: string) => rows.push([figure, rodent, baseline, ratio, target]);

  if (ONLY.has("startup")) {
  console.error("start-up…");
  const startup = await alternate(["bare", "hono", "rodent", "rodentConfig", "node", ...(BEFORE_RODENT ? (["rodentBefore", "rodentConfigBefore"] as const) : [])], (t) => measureStartup(t));
  results.startupMs = startup;
  const overHono = (k: "rodent" | "rodentConfig") => `+${(median(startup[k]) - median(startup.hono)).toFixed(1)} ms vs hono`;
  row("start-up, exec → first 200 /health (ms)", fmt(startup.rodent), fmt(startup.bare), ratio(startup.rodent, startup.bare), "");
  row("  the same vs the Hono baseline (ms)", fmt(startup.rodent), fmt(startup.hono) + " (hono)", overHono("rodent"), "≤ Hono + 3 ms");
  row("start-up with a typical config file (ms)", fmt(startup.rodentConfig), fmt(startup.hono) + " (hono)", overHono("rodentConfig"), "≤ Hono + 3 ms");
  row("  config file's own cost (ms)", fmt(startup.rodentConfig), fmt(startup.rodent) + " (no file)", `+${(median(startup.rodentConfig) - median(startup.rodent)).toFixed(1)} ms`, "≤ +2 ms");
  row("  Node bundle (ms)", fmt(startup.node) + " (node)", fmt(startup.bare), ratio(startup.node, startup.bare), "");
  if (BEFORE_RODENT) {
    row("  before: start-up without / with the config file (ms)", fmt(startup.rodentBefore!), fmt(startup.rodentConfigBefore!), `+${(median(startup.rodentConfigBefore!) - median(startup.rodentBefore!)).toFixed(1)} ms`, "");
  }

  }
  if (ONLY.has("throughput")) {
  console.error("throughput and RSS…");
  const tput = await alternate(["bare", "hono", "rodent", "rodentNoMetrics", "rodentLog", "node", ...(BEFORE_RODENT ? (["rodentBefore", "rodentLogBefore"] as const) : [])], (t) => measureThroughput(t));
  const rps = mapValues(tput, (v) => v.map((x) => x.rps));
  const cpu = mapValues(tput, (v) => v.map((x) => x.cpuUsPerRequest));
  results.cpuUsPerRequest = cpu;
  const idle = mapValues(tput, (v) => v.map((x) => x.idleRssMiB));
  const idleAnon = mapValues(tput, (v) => v.map((x) => x.idleAnonMiB));
  results.idleAnonMiB = idleAnon;
  const loaded = mapValues(tput, (v) => v.map((x) => x.loadedRssMiB));
  results.throughputRps = rps;
  results.idleRssMiB = idle;
  results.loadedRssMiB = loaded;
  row("throughput, access log off (req/s)", fmt(rps.rodent, 0), fmt(rps.bare, 0), ratio(rps.rodent, rps.bare), "≥ 0.92× bare");
  row("throughput, access log on, to a file (req/s)", fmt(rps.rodentLog, 0), fmt(rps.bare, 0), ratio(rps.rodentLog, rps.bare), "≥ 0.72× bare");
  // Server CPU time per request is steadier than req/s on a shared box; the ratio is bare / rodent,
  // so it reads like the throughput ratio a CPU-bound server would reach.
  row("server CPU per request, access log off (µs)", fmt(cpu.rodent, 2), fmt(cpu.bare, 2), ratio(cpu.bare, cpu.rodent), "≥ 0.92× bare");
  row("server CPU per request, access log on (µs)", fmt(cpu.rodentLog, 2), fmt(cpu.bare, 2), ratio(cpu.bare, cpu.rodentLog), "≥ 0.72× bare");
  // the same build with metrics.enabled false: what the request counting costs inside rodent
  row("server CPU per request, metrics off, access log off (µs)", fmt(cpu.rodentNoMetrics, 2), fmt(cpu.rodent, 2) + " (metrics on)", `${(median(cpu.rodent) - median(cpu.rodentNoMetrics)) >= 0 ? "+" : ""}${(median(cpu.rodent) - median(cpu.rodentNoMetrics)).toFixed(2)} µs for metrics`, "≤ +0.2 µs");
  row("server CPU per request, Hono baseline (µs)", fmt(cpu.hono, 2), fmt(cpu.bare, 2), ratio(cpu.bare, cpu.hono), "");
  row("throughput vs Hono baseline (req/s)", fmt(rps.rodent, 0), fmt(rps.hono, 0), ratio(rps.rodent, rps.hono), "");
  row("throughput, Node bundle vs rodent on Bun", fmt(rps.node, 0), fmt(rps.rodent, 0), ratio(rps.node, rps.rodent), "");
  row("idle RSS after start-up (MiB)", fmt(idle.rodent, 1), fmt(idle.bare, 1), ratio(idle.rodent, idle.bare), "");
  row("  idle RSS, Hono baseline (MiB)", fmt(idle.hono, 1), fmt(idle.bare, 1), ratio(idle.hono, idle.bare), "");
  // Most of a compiled Bun binary's RSS is its own executable's pages (clean, shared, reclaimable);
  // RssAnon is the memory the process itself allocated.
  row("  of which private (RssAnon, MiB)", fmt(idleAnon.rodent, 1), fmt(idleAnon.bare, 1), ratio(idleAnon.rodent, idleAnon.bare), "≤ 2× bare");
  if (BEFORE_RODENT) {
    row("  before: throughput, access log off / on (req/s)", fmt(rps.rodentBefore!, 0), fmt(rps.rodentLogBefore!, 0), `${ratio(rps.rodentBefore!, rps.bare)} / ${ratio(rps.rodentLogBefore!, rps.bare)}`, "");
    row("  before: server CPU per request, access log off / on (µs)", fmt(cpu.rodentBefore!, 2), fmt(cpu.rodentLogBefore!, 2), `${ratio(cpu.bare, cpu.rodentBefore!)} / ${ratio(cpu.bare, cpu.rodentLogBefore!)}`, "");
    row("  before: idle RssAnon (MiB)", fmt(idleAnon.rodentBefore!, 1), fmt(idleAnon.bare, 1), ratio(idleAnon.rodentBefore!, idleAnon.bare), "");
  }
  row("RSS after the load (MiB)", fmt(loaded.rodentLog, 1), fmt(loaded.bare, 1), ratio(loaded.rodentLog, loaded.bare), "");

  }
  if (ONLY.has("kit")) {
  console.error("an application route through the kit…");
  // The same pre-serialised JSON: rodent's own route, and an app's Hono route mounted by a plugin.
  const kit = await alternate(["rodent", "kit"], (t) => measureThroughput(t));
  const cpu = mapValues(kit, (v) => v.map((x) => x.cpuUsPerRequest));
  results.kitCpuUsPerRequest = cpu;
  row("server CPU per request, an app route mounted through the kit (µs)", fmt(cpu.kit, 2), fmt(cpu.rodent, 2) + " (rodent's own route)", ratio(cpu.rodent, cpu.kit), "≥ 0.97× rodent's own route");
  }
  if (ONLY.has("notes")) {
  console.error("examples/notes against its routes on bare Hono + bun:sqlite…");
  for (const method of ["POST", "GET"] as const) {
    const m = await alternate(["notes", "notesBare"], (t) => measureNotes(t, method));
    const rps = mapValues(m, (v) => v.map((x) => x.rps));
    const cpu = mapValues(m, (v) => v.map((x) => x.cpuUsPerRequest));
    results[`notes${method}`] = { rps, cpu };
    const what = method === "POST" ? "POST /api/v1/notes (one fsync'd commit each)" : "GET /api/v1/notes/:id";
    row(`notes: ${what} (req/s)`, fmt(rps.notes, 0), fmt(rps.notesBare, 0) + " (bare Hono + bun:sqlite)", ratio(rps.notes, rps.notesBare), "");
    row(`notes: ${what}, server CPU per request (µs)`, fmt(cpu.notes, 2), fmt(cpu.notesBare, 2), ratio(cpu.notesBare, cpu.notes), "");
  }

  }
  if (ONLY.has("costs")) {
  console.error("the cost ladder…");
  const ladder = await alternate(["costNothing", "costMetrics", "costReadId", "costRequestId", "costCounterId", "costPeer", "costAccessInputs", "costAccessLine", ...(BEFORE_COSTS ? (["costAccessLineBefore"] as const) : [])], (t) => measureThroughput(t));
  const cpu = mapValues(ladder, (v) => v.map((x) => x.cpuUsPerRequest));
  results.costsCpuUsPerRequest = cpu;
  // Best of the rounds, not the median: the other core's load only ever adds CPU time, and these
  // differences are smaller than what it adds to a median on a busy box.
  const best = (v: number[]) => Math.min(...v);
  const base = best(cpu.costNothing);
  for (const [key, what] of [["costMetrics", "rodent's request counting for /metrics (two clock reads, the counters)"], ["costReadId", "reading X-Request-Id"], ["costRequestId", "a request id (read, else UUID; echoed)"], ["costCounterId", "rodent's request id (read, else prefix + counter; echoed)"], ["costPeer", "server.requestIP() (the access log's ip)"], ["costAccessInputs", "what an access line reads (id, peer, method, url, user agent)"]] as const) {
    const extra = best(cpu[key]) - base;
    row(`cost of ${what} alone, on bare Bun.serve (µs, best of ${ROUNDS})`, `${extra >= 0 ? "+" : ""}${extra.toFixed(2)}`, base.toFixed(2), `${(base / (base + extra)).toFixed(3)}`, "");
  }
  // rodent's own part: the line's formatting and writing, on top of what it reads
  const own = best(cpu.costAccessLine) - best(cpu.costAccessInputs);
  row(`rodent's own access-line cost (format + write), over what it reads (µs, best of ${ROUNDS})`, `+${own.toFixed(2)}`, best(cpu.costAccessInputs).toFixed(2), "", "≤ 1.0 µs");
  if (BEFORE_COSTS) {
    const before = best(cpu.costAccessLineBefore!) - best(cpu.costAccessInputs);
    row(`  before: rodent's own access-line cost (µs, best of ${ROUNDS})`, `+${before.toFixed(2)}`, best(cpu.costAccessInputs).toFixed(2), "", "");
  }

  }
  if (ONLY.has("latency")) {
  console.error("latency at a fixed rate…");
  const lat = await alternate(["bare", "rodentLog"], (t) => measureLatency(t, 1000, 3));
  const p50 = mapValues(lat, (v) => v.map((x) => x.p50));
  const p99 = mapValues(lat, (v) => v.map((x) => x.p99));
  results.latencyMs = { p50, p99, rate: 1000 };
  row("latency p50 at 1000 req/s, access log on (ms)", fmt(p50.rodentLog, 2), fmt(p50.bare, 2), ratio(p50.rodentLog, p50.bare), "");
  row("latency p99 at 1000 req/s, access log on (ms)", fmt(p99.rodentLog, 2), fmt(p99.bare, 2), ratio(p99.rodentLog, p99.bare), "");

  }
  if (ONLY.has("lifecycle")) {
  console.error("shutdown, drain and reload…");
  const shutdown = await repeat(() => measureIdleShutdown());
  const drain = await repeat(() => measureDrainTail(20));
  const reload = await repeat(() => measureReload());
  const reloadLoad = await measureReloadUnderLoad();
  results.idleShutdownMs = shutdown;
  results.drainTailMs = drain;
  results.reloadMs = reload;
  results.reloadUnderLoad = reloadLoad;
  row("idle shutdown, SIGTERM → exit (ms)", fmt(median(shutdown)), "", "", "≤ 50 ms");
  row("drain tail, last response → exit, 20 in flight (ms)", fmt(median(drain)), "", "", "≤ 20 ms");
  row("reload, SIGHUP → \"reload applied\" logged (ms)", fmt(median(reload)), "", "", "");
  row(`failed requests across ${reloadLoad.reloads} reloads under load`, `${reloadLoad.failed} of ${reloadLoad.requests}`, "", "", "0");

  }
  const size = statSync(join(ROOT, "dist/rodent")).size / 2 ** 20;
  const bareSize = statSync(join(OUT, "bare")).size / 2 ** 20;
  results.binaryMiB = { rodent: size, bare: bareSize };
  row("binary size (MiB)", size.toFixed(1), bareSize.toFixed(1), (size / bareSize).toFixed(3), "");

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Bun ${Bun.version}, Node ${(await $`node --version`.quiet().text()).trim()}`;
  const table = [
    `Machine: ${machine}. Medians of ${ROUNDS} alternating rounds; load from wrk -t1 -c32 -d${LOAD_SECONDS}s on loopback.`,
    "",
    "| figure | rodent | baseline | ratio | target |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  console.log(table);
  writeFileSync(join(OUT, "results.json"), `${JSON.stringify({ machine, date: new Date().toISOString(), rounds: ROUNDS, results }, null, 2)}\n`);
  writeFileSync(join(OUT, "results.md"), `${table}\n`);
  console.error(`wrote ${join(OUT, "results.json")} and results.md`);
}

// ---- measurements -------------------------------------------------------------------------

interface Proc {
  proc: ReturnType<typeof Bun.spawn>;
  port: number;
  url: string;
  dir: string;
  lines: string[];
  onLine: Set<(line: string) => void>;
}

async function launch(t: keyof typeof targets, extra: string[] = [], env: Record<string, string> = {}): Promise<Proc> {
  const port = await freePort();
  const dir = mkdtempSync(join(work, "run-"));
  const cmd = [...targets[t].cmd(port, dir), ...extra];
  const offEnv = LOG_OFF.has(t) ? ENV_OFF : {};
  const target: Target = targets[t];
  const proc = Bun.spawn(cmd, { env: { ...process.env, HOME: dir, ...offEnv, ...target.env, ...env }, stdout: "pipe", stderr: "inherit" });
  const p: Proc = { proc, port, url: `http://127.0.0.1:${port}`, dir, lines: [], onLine: new Set() };
  void (async () => {
    let buffer = "";
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buffer += new TextDecoder().decode(chunk);
      let i: number;
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        p.lines.push(line);
        for (const fn of p.onLine) fn(line);
      }
    }
  })();
  return p;
}

async function ready(p: Proc, timeoutMs = 10_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    try {
      if ((await fetch(`${p.url}/health`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(1);
  }
  throw new Error(`${p.url} not ready`);
}

async function stop(p: Proc): Promise<void> {
  p.proc.kill("SIGTERM");
  await Promise.race([p.proc.exited, Bun.sleep(5000)]);
  p.proc.kill("SIGKILL");
  rmSync(p.dir, { recursive: true, force: true });
}

async function measureStartup(t: keyof typeof targets): Promise<number> {
  const started = performance.now();
  const p = await launch(t);
  await ready(p);
  const ms = performance.now() - started;
  await stop(p);
  return ms;
}

async function measureThroughput(t: keyof typeof targets): Promise<{ rps: number; cpuUsPerRequest: number; idleRssMiB: number; idleAnonMiB: number; loadedRssMiB: number }> {
  const p = await launch(t);
  await ready(p);
  await Bun.sleep(300);
  const idleRssMiB = rss(p.proc.pid);
  const idleAnonMiB = rss(p.proc.pid, "RssAnon");
  const cpuBefore = cpuSeconds(p.proc.pid);
  const path = (targets[t] as Target).path ?? "/api/v1/rodent/version";
  const out = await $`wrk -t1 -c32 -d${LOAD_SECONDS}s ${p.url}${path}`.quiet().text();
  const cpuAfter = cpuSeconds(p.proc.pid);
  const loadedRssMiB = rss(p.proc.pid);
  await stop(p);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { rps, cpuUsPerRequest: requests ? ((cpuAfter - cpuBefore) * 1e6) / requests : NaN, idleRssMiB, idleAnonMiB, loadedRssMiB };
}

/**
 * Throughput of one notes route: POST a note per request (wrk with a Lua script), or GET one note
 * seeded before the load.
 */
async function measureNotes(t: "notes" | "notesBare", method: "POST" | "GET"): Promise<{ rps: number; cpuUsPerRequest: number }> {
  const p = await launch(t);
  await ready(p);
  const seeded = await fetch(`${p.url}/api/v1/notes`, { method: "POST", body: JSON.stringify({ text: "a note of about the length people write, sixty characters." }) });
  if (seeded.status !== 201) throw new Error(`${targets[t].name}: seeding a note answered ${seeded.status}`);
  const { id } = (await seeded.json()) as { id: number };
  const script = join(p.dir, "post.lua");
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = '{"text":"a note of about the length people write, sixty characters."}'\nwrk.headers["Content-Type"] = "application/json"\n`);
  const cpuBefore = cpuSeconds(p.proc.pid);
  const out = method === "POST"
    ? await $`wrk -t1 -c32 -d${LOAD_SECONDS}s -s ${script} ${p.url}/api/v1/notes`.quiet().text()
    : await $`wrk -t1 -c32 -d${LOAD_SECONDS}s ${p.url}/api/v1/notes/${id}`.quiet().text();
  const cpuAfter = cpuSeconds(p.proc.pid);
  await stop(p);
  if (/Non-2xx/.test(out)) throw new Error(`${targets[t].name}: ${method} answered errors under load:\n${out}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { rps, cpuUsPerRequest: requests ? ((cpuAfter - cpuBefore) * 1e6) / requests : NaN };
}

async function measureLatency(t: keyof typeof targets, rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const p = await launch(t);
  await ready(p);
  const latencies: number[] = [];
  const total = rate * seconds;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    // measured from the scheduled time when sent late, so a stall counts against the server (no
    // coordinated omission), and from the send when a timer fired early
    const from = Math.min(due, performance.now());
    pending.push(fetch(`${p.url}/api/v1/rodent/version`).then(async (r) => {
      await r.arrayBuffer();
      latencies.push(performance.now() - from);
    }));
  }
  await Promise.all(pending);
  await stop(p);
  latencies.sort((a, b) => a - b);
  return { p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

async function measureIdleShutdown(): Promise<number> {
  const p = await launch("rodent");
  await ready(p);
  const started = performance.now();
  p.proc.kill("SIGTERM");
  await p.proc.exited;
  const ms = performance.now() - started;
  rmSync(p.dir, { recursive: true, force: true });
  return ms;
}

async function measureDrainTail(n: number): Promise<number> {
  const p = await launch("rodent", ["--dev"]);
  await ready(p);
  let last = 0;
  const requests = Array.from({ length: n }, () => fetch(`${p.url}/debug/sleep?ms=800`).then(async (r) => {
    await r.arrayBuffer();
    last = Math.max(last, performance.now());
  }));
  for (let i = 0; i < 500; i++) {
    const life = (await (await fetch(`${p.url}/debug/lifecycle`)).json()) as { inFlight: number };
    if (life.inFlight >= n + 1) break;
    await Bun.sleep(2);
  }
  p.proc.kill("SIGTERM");
  await Promise.all(requests);
  await p.proc.exited;
  const exitedAt = performance.now();
  rmSync(p.dir, { recursive: true, force: true });
  return exitedAt - last;
}

async function measureReload(): Promise<number> {
  const p = await launch("rodent");
  await ready(p);
  const applied = new Promise<number>((done) => p.onLine.add((line) => line.includes("reload applied") && done(performance.now())));
  const started = performance.now();
  p.proc.kill("SIGHUP");
  const at = await Promise.race([applied, Bun.sleep(5000).then(() => NaN)]);
  await stop(p);
  return at - started;
}

async function measureReloadUnderLoad(): Promise<{ requests: number; failed: number; reloads: number }> {
  const p = await launch("rodent");
  await ready(p);
  const load = $`wrk -t1 -c32 -d${LOAD_SECONDS}s ${p.url}/api/v1/rodent/version`.quiet().text();
  let reloads = 0;
  const until = performance.now() + LOAD_SECONDS * 1000 - 500;
  while (performance.now() < until && reloads < 100) {
    await Bun.sleep(100);
    p.proc.kill("SIGHUP");
    reloads++;
  }
  const out = await load;
  await stop(p);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const failed = non2xx + (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { requests, failed, reloads };
}

// ---- helpers ------------------------------------------------------------------------------

/** Runs `measure` for each target, ROUNDS times, in an order rotated every round. */
async function alternate<K extends string, T>(keys: K[], measure: (k: K) => Promise<T>): Promise<Record<K, T[]>> {
  const out = Object.fromEntries(keys.map((k) => [k, [] as T[]])) as Record<K, T[]>;
  for (let round = 0; round < ROUNDS; round++) {
    const order = [...keys.slice(round % keys.length), ...keys.slice(0, round % keys.length)];
    for (const k of order) out[k].push(await measure(k));
  }
  return out;
}

async function repeat(measure: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ROUNDS; i++) out.push(await measure());
  return out;
}

function mapValues<K extends string, T, U>(o: Record<K, T>, fn: (v: T) => U): Record<K, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v as T)])) as Record<K, U>;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function fmt(values: number[] | number, digits = 1): string {
  return (Array.isArray(values) ? median(values) : values).toFixed(digits);
}

function ratio(a: number[], b: number[]): string {
  return (median(a) / median(b)).toFixed(3);
}

function rss(pid: number, field = "VmRSS"): number {
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return kb / 1024;
}

/** User + system CPU time of `pid` so far, in seconds (clock ticks of 1/100 s, as on Linux). */
function cpuSeconds(pid: number): number {
  // fields after the command name, which is in parentheses and may contain spaces
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => done(typeof a === "object" && a ? a.port : 0));
    });
  });
}

await main().finally(() => rmSync(work, { recursive: true, force: true }));
