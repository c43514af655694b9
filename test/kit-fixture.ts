// The test application (test/fixtures/kitapp: "notes", built on rodent's public API only),
// compiled once per test run with build.ts --entry/--name, and how tests run it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, type SpawnOptions } from "./helpers";

/** Where the builds go; removed when the test process exits. */
export const KIT_OUT = mkdtempSync(join(tmpdir(), "rodent-kit-"));
process.on("exit", () => rmSync(KIT_OUT, { recursive: true, force: true }));

/** Builds `entry` as `name` into KIT_OUT/<dir> with build.ts; throws with its output if it fails. */
export function buildApp(entry: string, name: string, dir: string, extra: string[] = []): string {
  const outDir = join(KIT_OUT, dir);
  const build = Bun.spawnSync(["bun", "build.ts", "--entry", entry, "--name", name, "--out-dir", outDir, ...extra], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
  });
  if (build.exitCode !== 0) throw new Error(`building ${entry} failed: ${build.stderr.toString()}`);
  return join(outDir, name);
}

let built: string | undefined;

/** The fixture app, built on first use: KIT_OUT/notes/notes and notes.mjs. */
export function notesBinary(): string {
  built ??= buildApp("test/fixtures/kitapp/main.ts", "notes", "notes");
  return built;
}

/** SpawnOptions that run the notes binary (or, under runtime "node", its bundle) where the helpers run rodent. */
export function notes(options: SpawnOptions = {}): SpawnOptions {
  const bin = notesBinary();
  return { ...options, wrap: (cmd) => (cmd[0] === "node" ? ["node", `${bin}.mjs`, ...cmd.slice(2)] : [bin, ...cmd.slice(1)]) };
}

/** The lines of an events file the fixture writes (empty until it exists). */
export function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
}
