// `npm run release`: builds rodent (or an application built on it) for every release target and
// writes dist/release/ with one reproducible archive per target, the Node bundle's archive and
// SHA256SUMS over all of them. `--targets linux-x64,…` builds only those; `--out DIR` writes
// elsewhere; `--no-node` skips the Node bundle. With SOURCE_DATE_EPOCH unset, the commit's time
// stands in for it. An application: `--entry examples/notes/main.ts --name notes` writes
// notes-<its version>-<target>.tar.gz holding `notes`, `notes.1`, the README.md and LICENSE beside
// its entry (when git tracks them), rodent's LICENSE as LICENSE.rodent, and what `--ship` names.
import { $ } from "bun";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { manPage } from "../../src/cli/manpage";
import { nameProgram } from "../../src/program";
import { TARGETS } from "./release-targets";
import { type TarEntry, tarGz } from "./tar";

const ROOT = resolve(import.meta.dir, "../..");

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    targets: { type: "string" },
    out: { type: "string", default: join(ROOT, "dist/release") },
    "no-node": { type: "boolean", default: false },
    entry: { type: "string" },
    name: { type: "string" },
    ship: { type: "string" },
  },
});

if ((values.entry === undefined) !== (values.name === undefined)) throw new Error("release: --entry and --name go together (an application's main.ts and its binary's name)");
const name = values.name ?? "rodent";
if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`release: --name ${JSON.stringify(name)}: expected lower-case [a-z][a-z0-9-]*`);
const entry = resolve(values.entry ?? join(ROOT, "src/main.ts"));
if (!existsSync(entry)) throw new Error(`release: --entry ${entry}: no such file`);
const targets = values.targets ? values.targets.split(",") : Object.keys(TARGETS);
for (const t of targets) if (!TARGETS[t]) throw new Error(`unknown target '${t}': use ${Object.keys(TARGETS).join(", ")}`);
const epoch = await sourceDateEpoch();
const out = resolve(values.out!);
const stage = mkdtempSync(join(tmpdir(), "rodent-release-"));
try {
  // what every archive carries besides the program and its man page, [path in the archive, file]
  const shipped = await shippedFiles();
  const bundle = join(stage, `node/${name}.mjs`);
  for (const [i, target] of targets.entries()) {
    // the first build also bundles for Node: the bundle is the same for every target, and it tells
    // the version (an application may set its own in rodent({ version }))
    const node = i === 0 ? ["--node-outfile", bundle] : ["--no-node"];
    await $`bun build.ts --entry ${entry} --name ${name} --target ${TARGETS[target]!} --outfile ${join(stage, target, name)} ${node}`
      .cwd(ROOT)
      .env({ ...process.env, SOURCE_DATE_EPOCH: String(epoch) });
  }
  const version = await programVersion(bundle);
  // the man page names the version the program itself reports
  nameProgram({ name, version });
  writeFileSync(join(stage, `${name}.1`), manPage(version, new Date(epoch * 1000).toISOString().slice(0, 10)));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const archives = targets.map((target) => writeArchive(`${name}-${version}-${target}`, [name, join(stage, target, name)]));
  if (!values["no-node"]) archives.push(writeArchive(`${name}-${version}-node`, [`${name}.mjs`, bundle]));
  const sums = archives.sort().map((archive) => `${createHash("sha256").update(readFileSync(join(out, archive))).digest("hex")}  ${archive}\n`);
  writeFileSync(join(out, "SHA256SUMS"), sums.join(""));
  console.log(`release ${name} ${version} (SOURCE_DATE_EPOCH=${epoch}) in ${out}:\n${sums.join("")}`);

  /** Writes `<base>.tar.gz` holding `<base>/` with the program, the man page and `shipped`; returns its name. */
  function writeArchive(base: string, program: [string, string]): string {
    const files: Array<[string, string]> = [program, [`${name}.1`, join(stage, `${name}.1`)], ...shipped];
    const entries = withDirectories(base, files.map(([path, from]) => ({ path, from })));
    const archive = `${base}.tar.gz`;
    writeFileSync(join(out, archive), tarGz(entries, epoch));
    return archive;
  }
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** What the program's own `version --json` says its version is (the bundle, run by this Bun). */
async function programVersion(bundle: string): Promise<string> {
  const said = await $`${process.execPath} ${bundle} version --json`.env({ PATH: process.env.PATH ?? "" }).nothrow().quiet();
  let version: unknown;
  try {
    version = (JSON.parse(said.stdout.toString()) as { version?: unknown }).version;
  } catch {
    version = undefined;
  }
  if (typeof version !== "string" || !/^[\w.+-]+$/.test(version)) throw new Error(`release: ${name} version --json did not name a version: ${said.stdout.toString()}${said.stderr.toString()}`);
  return version;
}

/** SOURCE_DATE_EPOCH when set, else the commit's time: what makes two builds of a commit agree. */
async function sourceDateEpoch(): Promise<number> {
  const raw = process.env.SOURCE_DATE_EPOCH || (await $`git log -1 --format=%ct`.cwd(ROOT).nothrow().quiet().text()).trim();
  if (!/^\d+$/.test(raw)) throw new Error("release: set SOURCE_DATE_EPOCH (seconds since 1970) when building outside git");
  return Number(raw);
}

/**
 * The files an archive carries besides the program, as [path in the archive, file], sorted: for
 * rodent, README.md, LICENSE and contrib/; for an application, the README.md and LICENSE beside its
 * entry and rodent's LICENSE as LICENSE.rodent (the binary holds rodent's code). Then what --ship
 * names, relative to the entry's directory. Only files git tracks (never a stray local file).
 */
async function shippedFiles(): Promise<Array<[string, string]>> {
  const app = dirname(entry);
  const extra = values.ship ? values.ship.split(",").filter(Boolean) : [];
  const picked: Array<[string, string]> =
    name === "rodent" && values.entry === undefined
      ? (await tracked(ROOT, ["README.md", "LICENSE", "contrib", ...extra])).map((f) => [f, join(ROOT, f)])
      : [
          ...(await tracked(app, ["README.md", "LICENSE", ...extra])).map((f): [string, string] => [f, join(app, f)]),
          ...(await tracked(ROOT, ["LICENSE"])).map((f): [string, string] => [`${f}.rodent`, join(ROOT, f)]),
        ];
  if (picked.length === 0) throw new Error("release: no tracked README.md, LICENSE or contrib/ (run it in the git checkout)");
  for (const path of extra) {
    if (!picked.some(([p]) => p === path || p.startsWith(`${path}/`))) throw new Error(`release: --ship ${path}: git tracks no such file or directory under ${app}`);
  }
  return picked.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The files git tracks under `paths` of `dir`, relative to `dir` (as git lists them there); one deleted in the working tree is not shipped. */
async function tracked(dir: string, paths: string[]): Promise<string[]> {
  const listed = await $`git ls-files -z -- ${paths}`.cwd(dir).nothrow().quiet();
  if (listed.exitCode !== 0) return [];
  return listed.stdout.toString().split("\0").filter((f) => f !== "" && existsSync(join(dir, f)));
}

/** Entries for `files` under `base`/, each directory listed once before what it holds, by name. */
function withDirectories(base: string, files: Array<{ path: string; from: string }>): TarEntry[] {
  const entries = new Map<string, TarEntry>([[base, { path: base }]]);
  for (const { path } of files) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = `${base}/${parts.slice(0, i).join("/")}`;
      entries.set(dir, { path: dir });
    }
  }
  for (const { path, from } of files) {
    entries.set(`${base}/${path}`, { path: `${base}/${path}`, data: readFileSync(from), executable: (statSync(from).mode & 0o100) !== 0 });
  }
  return [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
