// The mutation spot check (`npm run mutants [NAME…]`): breaks one promise of the README at a time in
// a scratch copy of the project, builds it, runs only the test files that should notice, and says
// whether they did. A survivor is a missing test. Not part of `npm test`: it takes minutes.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MUTANTS, type Mutant } from "./mutants";

const ROOT = resolve(import.meta.dir, "../..");
/** One mutant's build and tests together; a run that takes longer counts as killed by a hang. */
const PER_MUTANT_MS = 5 * 60_000;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  // --check: only verify that every anchor still occurs exactly once (no build, no tests)
  const checkOnly = args.includes("--check");
  const wanted = args.filter((a) => a !== "--check");
  const unknown = wanted.filter((name) => !MUTANTS.some((m) => m.name === name));
  if (unknown.length) {
    console.error(`mutants: no mutant named ${unknown.join(", ")}; known: ${MUTANTS.map((m) => m.name).join(", ")}`);
    return 2;
  }
  const chosen = wanted.length ? MUTANTS.filter((m) => wanted.includes(m.name)) : MUTANTS;
  if (checkOnly) {
    const stale = chosen.map((m) => [m.name, staleReason(ROOT, m)] as const).filter(([, why]) => why);
    for (const [name, why] of stale) console.log(`stale    ${name}: ${why}`);
    console.log(`mutants: ${chosen.length - stale.length} anchored, ${stale.length} stale`);
    return stale.length ? 1 : 0;
  }
  const scratch = makeScratch();
  const results: { mutant: Mutant; verdict: "killed" | "survived" | "stale"; seconds: number; detail: string }[] = [];
  try {
    for (const mutant of chosen) {
      const started = Date.now();
      const outcome = await tryMutant(scratch, mutant);
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      results.push({ mutant, ...outcome, seconds });
      console.log(`${outcome.verdict.padEnd(8)} ${mutant.name} (${seconds} s): ${mutant.breaks}${outcome.verdict === "killed" ? "" : `\n         ${outcome.detail}`}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const count = (v: string) => results.filter((r) => r.verdict === v).length;
  console.log(`\nmutants: ${count("killed")} killed, ${count("survived")} survived, ${count("stale")} stale (anchor not found: update test/mutants/mutants.ts)`);
  return count("survived") + count("stale") === 0 ? 0 : 1;
}

/** A copy of the project the mutants are applied to; node_modules is shared by a symlink. */
function makeScratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "rodent-mutants-"));
  for (const entry of ["src", "test", "build.ts", "package.json", "tsconfig.json", "bunfig.toml", "examples"]) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Why the mutant cannot be applied to the sources under `root`, or undefined when it can. */
function staleReason(root: string, mutant: Mutant): string | undefined {
  for (const edit of mutant.edits) {
    const path = join(root, edit.file);
    const hits = existsSync(path) ? readFileSync(path, "utf8").split(edit.find).length - 1 : 0;
    if (hits !== 1) return `${edit.file}: the anchor ${JSON.stringify(edit.find.slice(0, 60))} occurs ${hits} times, expected once`;
  }
  return undefined;
}

async function tryMutant(scratch: string, mutant: Mutant): Promise<{ verdict: "killed" | "survived" | "stale"; detail: string }> {
  const stale = staleReason(ROOT, mutant);
  if (stale) return { verdict: "stale", detail: stale };
  const originals = new Map<string, string>();
  for (const edit of mutant.edits) {
    const file = join(scratch, edit.file);
    const text = originals.get(file) ?? readFileSync(join(ROOT, edit.file), "utf8");
    if (!originals.has(file)) originals.set(file, text);
    writeFileSync(file, readFileSync(file, "utf8").replace(edit.find, edit.replace));
  }
  try {
    const until = Date.now() + PER_MUTANT_MS;
    const build = await run([process.execPath, "build.ts"], scratch, until);
    // a mutant that does not build would be "killed" by the compiler, which proves nothing of the tests
    if (build.code !== 0) return { verdict: "stale", detail: `the mutant does not build: ${build.tail}` };
    const tests = await run([process.execPath, "test", "--timeout", "60000", ...mutant.tests], scratch, until);
    if (tests.code === 0) return { verdict: "survived", detail: `${mutant.tests.join(" ")} passed with the mutant in place` };
    return { verdict: "killed", detail: tests.tail };
  } finally {
    for (const [file, text] of originals) writeFileSync(file, text);
  }
}

/** Runs a command in `cwd`, bounded by `until`; the tail of its output for the report. */
async function run(cmd: string[], cwd: string, until: number): Promise<{ code: number; tail: string }> {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, CI: "" } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), Math.max(1, until - Date.now()));
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  const lines = `${out}${err}`.trim().split("\n");
  const failed = lines.filter((l) => l.startsWith("(fail)"));
  return { code: proc.signalCode ? 128 : code, tail: (failed.length ? failed : lines.slice(-3)).slice(0, 5).join(" | ") };
}

process.exit(await main());
