// Instructions per request, counted by callgrind: the figure that does not move with the machine's
// load. `npm run bench:instructions` (needs valgrind: apt-get install valgrind). The clock figures of
// `npm run bench` moved by ±15–30 % between runs on a shared 2-core VM; an instruction count of one
// build moves by about 1 %, so a change of a few per cent in the request path shows here first.
// Not everything: kernel time (the socket syscalls, the same for every server here) is not counted,
// and an instruction is not a fixed time. Everything talks to 127.0.0.1 only; every wait is bounded.
import { $ } from "bun";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const OUT = join(ROOT, "bench", "out");
/**
 * Requests counted per target, after WARM_UP uncounted ones: with 750 warm-up requests two runs of
 * one build differed by up to 4 % (the JIT still tiering up); with 2000, the main thread's count
 * repeats within about 1 % (log off) and 2 % (log on).
 */
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const WARM_UP = 2000;
const CONNECTIONS = 8;
const work = mkdtempSync(join(tmpdir(), "rodent-instructions-"));

type Target = { name: string; cmd: (port: number, dir: string) => string[]; env?: Record<string, string> };

const rodent = (port: number, dir: string, ...more: string[]) => [join(ROOT, "dist/rodent"), "serve", "--port", String(port), "--pid-file", join(dir, "r.pid"), ...more];
const ladder = (add: string) => (port: number, dir: string) => [join(OUT, "costs"), "--port", String(port), "--add", add, "--log-file", join(dir, "c.log")];
const LOG_OFF = { RODENT_LOGS_ACCESS: "false" };

const TARGETS: Record<string, Target> = {
  bare: { name: "bare Bun.serve", cmd: (port) => [join(OUT, "bare"), "--port", String(port)] },
  hono: { name: "Hono on Bun.serve", cmd: (port) => [join(OUT, "hono"), "--port", String(port)] },
  rodent: { name: "rodent, access log off", cmd: rodent, env: LOG_OFF },
  rodentNoMetrics: { name: "rodent, access log and metrics off", cmd: rodent, env: { ...LOG_OFF, RODENT_METRICS_ENABLED: "false" } },
  rodentLog: { name: "rodent, access log on (to a file)", cmd: (port, dir) => rodent(port, dir, "--log-file", join(dir, "r.log")) },
  costNothing: { name: "ladder: bare + nothing", cmd: ladder("nothing") },
  costReadId: { name: "ladder: + read X-Request-Id", cmd: ladder("read-request-id") },
  costCounterId: { name: "ladder: + rodent's request id, echoed", cmd: ladder("request-id-counter") },
  costPeer: { name: "ladder: + peer address", cmd: ladder("peer-address") },
  costAccessInputs: { name: "ladder: + what an access line reads", cmd: ladder("access-inputs") },
  costAccessLine: { name: "ladder: + rodent's access line", cmd: ladder("access-line") },
};

async function main(): Promise<void> {
  if ((await $`which valgrind callgrind_control`.nothrow().quiet()).exitCode !== 0) throw new Error("valgrind is needed: apt-get install valgrind");
  mkdirSync(OUT, { recursive: true });
  // BENCH_STEPS=a,b adds ladder steps of bench/baselines/costs.ts by their --add name (a trial's own)
  for (const step of process.env.BENCH_STEPS?.split(",") ?? []) TARGETS[step] = { name: `ladder: ${step}`, cmd: ladder(step) };
  // BENCH_BEFORE_COSTS: an earlier build's cost-ladder binary, its access-line step beside this one's
  const before = process.env.BENCH_BEFORE_COSTS;
  if (before) TARGETS.costAccessLineBefore = { name: "ladder: + rodent's access line, before", cmd: (port, dir) => [before, "--port", String(port), "--add", "access-line", "--log-file", join(dir, "c.log")] };
  // BENCH_BEFORE_RODENT: an earlier build's dist/rodent, with the access log on and off, beside this one's
  const beforeRodent = process.env.BENCH_BEFORE_RODENT;
  if (beforeRodent) {
    const cmd = (port: number, dir: string, ...more: string[]) => [beforeRodent, ...rodent(port, dir, ...more).slice(1)];
    TARGETS.rodentBefore = { name: "rodent, access log off, before", cmd, env: LOG_OFF };
    TARGETS.rodentLogBefore = { name: "rodent, access log on (to a file), before", cmd: (port, dir) => cmd(port, dir, "--log-file", join(dir, "r.log")) };
  }
  const picked = [process.env.BENCH_ONLY, process.env.BENCH_STEPS].filter(Boolean).join(",");
  const only = picked ? picked.split(",") : undefined;
  const keys = Object.keys(TARGETS).filter((k) => !only || only.includes(k));
  console.error("building rodent and the baselines…");
  await $`bun ${join(ROOT, "build.ts")}`.cwd(ROOT).quiet();
  for (const base of ["bare", "hono", "costs"]) await $`bun build ${join(ROOT, `bench/baselines/${base}.ts`)} --compile --minify --outfile ${join(OUT, base)}`.quiet();
  const counts: Record<string, { main: number; all: number }> = {};
  for (const key of keys) {
    counts[key] = await perRequest(TARGETS[key]!);
    console.error(`${TARGETS[key]!.name}: ${Math.round(counts[key]!.main)} instructions per request on the main thread, ${Math.round(counts[key]!.all)} on all`);
  }
  const lines = [
    `Instructions per request (callgrind; ${REQUESTS} requests over ${CONNECTIONS} keep-alive connections after ${WARM_UP} warm-up; GET /api/v1/rodent/version). The main thread's count is the steady one; JSC's GC and JIT threads add a share that moves by several thousand between runs.`,
    "",
    "| target | main thread | vs bare | vs previous row | all threads |",
    "|---|---|---|---|---|",
  ];
  let previous: number | undefined;
  for (const key of keys) {
    const { main: n, all } = counts[key]!;
    const bare = (counts.bare ?? counts.costNothing)?.main;
    lines.push(`| ${TARGETS[key]!.name} | ${Math.round(n)} | ${bare ? (bare / n).toFixed(3) : ""} | ${previous === undefined ? "" : `${n - previous >= 0 ? "+" : ""}${Math.round(n - previous)}`} | ${Math.round(all)} |`);
    previous = n;
  }
  const table = lines.join("\n");
  console.log(table);
  writeFileSync(join(OUT, "instructions.json"), `${JSON.stringify({ date: new Date().toISOString(), requests: REQUESTS, counts }, null, 2)}\n`);
  writeFileSync(join(OUT, "instructions.md"), `${table}\n`);
}

/**
 * Runs `target` under callgrind, warms it up, zeroes the counters, sends REQUESTS requests, dumps,
 * and divides the instructions of that interval by the requests: the main thread's, and every thread's.
 */
async function perRequest(target: Target): Promise<{ main: number; all: number }> {
  const port = await freePort();
  const dir = mkdtempSync(join(work, "run-"));
  const proc = Bun.spawn(["valgrind", "--tool=callgrind", `--callgrind-out-file=${join(dir, "cg.%p")}`, "--dump-instr=no", "--separate-threads=yes", ...target.cmd(port, dir)], {
    env: { ...process.env, HOME: dir, ...target.env },
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    await ready(url, 120_000);
    await load(`${url}/api/v1/rodent/version`, WARM_UP);
    await $`callgrind_control -z ${proc.pid}`.quiet();
    await load(`${url}/api/v1/rodent/version`, REQUESTS);
    await $`callgrind_control -d ${proc.pid}`.quiet();
    // the dump of the counted interval, one file per thread: cg.<pid>.1-01 (the main thread), -02, …
    const dumps = readdirSync(dir).filter((f) => f.startsWith(`cg.${proc.pid}.1-`));
    if (!dumps.some((f) => f.endsWith("-01"))) throw new Error(`${target.name}: callgrind wrote no dump of the main thread`);
    let main = 0;
    let all = 0;
    for (const dump of dumps) {
      const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, dump), "utf8"));
      if (!totals) throw new Error(`${target.name}: no totals in the callgrind dump ${dump}`);
      all += Number(totals[1]);
      if (dump.endsWith("-01")) main = Number(totals[1]);
    }
    // BENCH_KEEP=dir keeps the main thread's dump of each target, for callgrind_annotate
    if (process.env.BENCH_KEEP) copyFileSync(join(dir, dumps.find((f) => f.endsWith("-01"))!), join(process.env.BENCH_KEEP, `${target.name.replace(/\W+/g, "-")}.cg`));
    return { main: main / REQUESTS, all: all / REQUESTS };
  } finally {
    proc.kill("SIGKILL");
    await Promise.race([proc.exited, Bun.sleep(5000)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `count` GETs over CONNECTIONS keep-alive connections; any answer but 200 is an error. */
async function load(url: string, count: number): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (left-- > 0) {
        const response = await fetch(url);
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
      }
    }),
  );
}

async function ready(url: string, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      // not listening yet: valgrind starts slowly
    }
    await Bun.sleep(50);
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000} s under valgrind`);
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

await main().finally(() => rmSync(work, { recursive: true, force: true }));
