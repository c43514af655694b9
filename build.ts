// Builds a compiled binary and a Node bundle with versions, commit and build time embedded:
// rodent's own (dist/rodent, dist/rodent.mjs) by default, or an application built on rodent with
// `bun build.ts --entry path/to/main.ts --name myapp` (dist/myapp, dist/myapp.mjs).
// `--target bun-linux-arm64` cross-compiles the binary for another Bun target.
import { $ } from "bun";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "./package.json";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    entry: { type: "string", default: join(import.meta.dir, "src/main.ts") },
    name: { type: "string", default: "rodent" },
    "out-dir": { type: "string", default: "dist" },
    target: { type: "string" },
    outfile: { type: "string" },
    "node-outfile": { type: "string" },
    "no-node": { type: "boolean", default: false },
    version: { type: "string" },
    "app-version": { type: "string" },
  },
});

const name = values.name!;
if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`--name ${JSON.stringify(name)}: expected lower-case [a-z][a-z0-9-]*`);
const entry = resolve(values.entry!);
const outfile = values.outfile ?? join(values["out-dir"]!, name);
const nodeOutfile = values["node-outfile"] ?? `${outfile}.mjs`;
// The commit of the application's own repository (rodent's, for rodent itself).
const where = dirname(entry);
const commit = (await $`git rev-parse --short=12 HEAD`.cwd(where).nothrow().quiet().text()).trim() || "unknown";
const dirty = (await $`git status --porcelain --untracked-files=no`.cwd(where).nothrow().quiet().text()).trim() ? "-dirty" : "";
const rodentVersion = values.version ?? pkg.version;
const defines = {
  RODENT_VERSION: JSON.stringify(rodentVersion),
  RODENT_APP_VERSION: JSON.stringify(values["app-version"] ?? appVersion(where) ?? rodentVersion),
  RODENT_COMMIT: JSON.stringify(commit === "unknown" ? commit : commit + dirty),
  RODENT_BUILD_TIME: JSON.stringify(new Date().toISOString()),
  // Fixed at build time so no library picks a development code path from the environment.
  "process.env.NODE_ENV": JSON.stringify("production"),
};
const defineArgs = Object.entries(defines).flatMap(([k, v]) => ["--define", `${k}=${v}`]);

const started = performance.now();
const target = values.target ? [`--target=${values.target}`] : [];
// The binary runs on Bun only: @hono/node-server (and the node:http it loads at start-up) stays
// out. --bytecode halves the time from exec to the first answer (24 ms → 12 ms on the dev box).
await $`bun build ${entry} --compile --minify --bytecode --sourcemap=none --external @hono/node-server ${target} ${defineArgs} --outfile ${outfile}`.quiet();
if (!values["no-node"]) {
  // bun:ffi (the Bun-only sd_notify transport) is never loaded on Node
  await $`bun build ${entry} --target=node --minify --format=esm --external bun:ffi ${defineArgs} --outfile ${nodeOutfile}`.quiet();
}
console.log(`built ${outfile}${values["no-node"] ? "" : ` and ${nodeOutfile}`} (${commit}${dirty}) in ${Math.round(performance.now() - started)} ms`);

/** The version in the nearest package.json above the entry that is not rodent's own. */
function appVersion(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const found = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      return found.name === pkg.name ? undefined : found.version;
    }
    if (dirname(dir) === dir) return undefined;
  }
}
