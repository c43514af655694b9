// `npm run release`: builds rodent for every release target and writes dist/release/ with one
// reproducible archive per target, the Node bundle's archive and SHA256SUMS over all of them.
// `--targets linux-x64,…` builds only those; `--out DIR` writes elsewhere; `--no-node` skips the
// Node bundle. With SOURCE_DATE_EPOCH unset, the commit's time stands in for it.
import { $ } from "bun";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../../package.json";
import { TARGETS } from "./release-targets";
import { type TarEntry, tarGz } from "./tar";


const ROOT = resolve(import.meta.dir, "../..");
/** What every archive carries besides the program, as tracked by git (never a stray local file). */
const SHIPPED = ["README.md", "LICENSE", "contrib"];

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    targets: { type: "string" },
    out: { type: "string", default: join(ROOT, "dist/release") },
    "no-node": { type: "boolean", default: false },
  },
});

const targets = values.targets ? values.targets.split(",") : Object.keys(TARGETS);
for (const t of targets) if (!TARGETS[t]) throw new Error(`unknown target '${t}': use ${Object.keys(TARGETS).join(", ")}`);
const epoch = await sourceDateEpoch();
const version = pkg.version;
const out = resolve(values.out!);
const stage = mkdtempSync(join(tmpdir(), "rodent-release-"));
try {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const shipped = await shippedFiles();
  const archives: string[] = [];
  for (const [i, target] of targets.entries()) {
    const dir = join(stage, target);
    // the first build also bundles for Node: the bundle is the same for every target
    const node = i === 0 && !values["no-node"] ? ["--node-outfile", join(stage, "node/rodent.mjs")] : ["--no-node"];
    await $`bun build.ts --target ${TARGETS[target]!} --outfile ${join(dir, "rodent")} --man-outfile ${join(stage, "rodent.1")} ${node}`
      .cwd(ROOT)
      .env({ ...process.env, SOURCE_DATE_EPOCH: String(epoch) });
    archives.push(writeArchive(`rodent-${version}-${target}`, [["rodent", join(dir, "rodent")]]));
  }
  if (!values["no-node"]) archives.push(writeArchive(`rodent-${version}-node`, [["rodent.mjs", join(stage, "node/rodent.mjs")]]));
  const sums = archives.sort().map((name) => `${createHash("sha256").update(readFileSync(join(out, name))).digest("hex")}  ${name}\n`);
  writeFileSync(join(out, "SHA256SUMS"), sums.join(""));
  console.log(`release ${version} (SOURCE_DATE_EPOCH=${epoch}) in ${out}:\n${sums.join("")}`);

  /** Writes `<base>.tar.gz` holding `<base>/` with the program, the man page and SHIPPED; returns its name. */
  function writeArchive(base: string, program: Array<[string, string]>): string {
    const files = [...program, ["rodent.1", join(stage, "rodent.1")] as [string, string], ...shipped.map((f) => [f, join(ROOT, f)] as [string, string])];
    const entries = withDirectories(base, files.map(([path, from]) => ({ path, from })));
    const name = `${base}.tar.gz`;
    writeFileSync(join(out, name), tarGz(entries, epoch));
    return name;
  }
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** SOURCE_DATE_EPOCH when set, else the commit's time: what makes two builds of a commit agree. */
async function sourceDateEpoch(): Promise<number> {
  const raw = process.env.SOURCE_DATE_EPOCH || (await $`git log -1 --format=%ct`.cwd(ROOT).nothrow().quiet().text()).trim();
  if (!/^\d+$/.test(raw)) throw new Error("release: set SOURCE_DATE_EPOCH (seconds since 1970) when building outside git");
  return Number(raw);
}

/** The files git tracks under SHIPPED, sorted (a file not yet added is not shipped). */
async function shippedFiles(): Promise<string[]> {
  const listed = await $`git ls-files -z -- ${SHIPPED}`.cwd(ROOT).nothrow().quiet();
  const files = listed.exitCode === 0 ? listed.stdout.toString().split("\0").filter(Boolean) : [];
  if (files.length === 0) throw new Error("release: no tracked README.md, LICENSE or contrib/ (run it in the git checkout)");
  // a file deleted in the working tree but not yet in git is not shipped
  return files.filter((f) => existsSync(join(ROOT, f))).sort();
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
