// `npm run release` on the host target: what an archive holds, that it runs and names its target,
// SHA256SUMS, and that two builds of one commit give the same bytes (reproducible builds).
// Two release builds take 15–30 s on the 2-core box, so those run in .ci/run (RODENT_RELEASE_TEST=1),
// beside the all-target release and contrib/release/check-release.ts, not in every `npm test`;
// one host-only release of an application (a few seconds) runs in every `npm test`.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./helpers";

const EPOCH = 1700000000; // 2023-11-14T22:13:20Z
const HOST = `${process.platform}-${process.arch}`;
const BUN = join(ROOT, "node_modules/.bin/bun");

function release(out: string, extra: string[] = []): void {
  const r = Bun.spawnSync([BUN, "contrib/release/release.ts", "--targets", HOST, "--out", out, ...extra], {
    cwd: ROOT, env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) }, stdout: "pipe", stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`release failed: ${r.stderr.toString()}${r.stdout.toString()}`);
}

const run = (cmd: string[], cwd?: string) => {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
};

describe.if(process.env.RODENT_RELEASE_TEST === "1")("release archives", () => {
  test("two release builds of one commit are byte-identical, hold the program, man page, README, LICENSE and contrib/, and run", () => {
    const [a, b] = [tempDir(), tempDir()];
    release(a);
    release(b);
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
    const names = [`rodent-${version}-${HOST}.tar.gz`, `rodent-${version}-node.tar.gz`];
    expect(readdirSync(a).sort()).toEqual(["SHA256SUMS", ...names].sort());
    for (const name of [...names, "SHA256SUMS"]) expect(Bun.hash(readFileSync(join(a, name)))).toBe(Bun.hash(readFileSync(join(b, name))));
    expect(run(["sha256sum", "--check", "--strict", "SHA256SUMS"], a).stdout).toBe(names.sort().map((n) => `${n}: OK\n`).join(""));

    const archive = join(a, `rodent-${version}-${HOST}.tar.gz`);
    // gzip without a name (FLG 0) or a timestamp (MTIME 0)
    expect([...readFileSync(archive).subarray(0, 8)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    const listing = run(["tar", "--numeric-owner", "--utc", "-tvzf", archive]).stdout.trim().split("\n");
    const base = `rodent-${version}-${HOST}`;
    for (const line of listing) expect(line).toMatch(/^[d-]rw[x-]r-[x-]r-[x-] 0\/0 +\d+ 2023-11-14 22:13 /);
    const paths = listing.map((l) => l.split(/\s+/).at(-1));
    for (const path of ["rodent", "rodent.1", "README.md", "LICENSE", "contrib/install.sh", "contrib/systemd/rodent.service"]) expect(paths).toContain(`${base}/${path}`);
    expect(listing.find((l) => l.endsWith(`${base}/rodent`))).toStartWith("-rwxr-xr-x");
    expect(paths).toEqual([...paths].sort());

    const unpacked = tempDir();
    expect(run(["tar", "-xzf", archive, "-C", unpacked]).code).toBe(0);
    const info = JSON.parse(run([join(unpacked, base, "rodent"), "version", "--json"]).stdout);
    expect(info).toMatchObject({ version, target: HOST, os: process.platform, arch: process.arch, libc: "glibc", buildTime: "2023-11-14T22:13:20.000Z" });
    expect(info.commit).toMatch(/^[0-9a-f]{12}(-dirty)?$/);
    expect(run(["tar", "-xzf", join(a, `rodent-${version}-node.tar.gz`), "-C", unpacked]).code).toBe(0);
    const node = JSON.parse(run(["node", join(unpacked, `rodent-${version}-node`, "rodent.mjs"), "version", "--json"]).stdout);
    expect(node).toMatchObject({ version, target: "node", buildTime: "2023-11-14T22:13:20.000Z", commit: info.commit });
  }, 120_000);
});

/**
 * The test application (test/fixtures/kitapp: rodent({ name: "notes", version: "2.3.4" })) released
 * as notes, with its source shipped as an extra file.
 */
const APP = ["--entry", "test/fixtures/kitapp/main.ts", "--name", "notes", "--ship", "main.ts"];

describe("an application's release archives", () => {
  test("are named <app>-<its version>-<target>.tar.gz, hold its binary, man page, README and rodent's licence, and install with install.sh --name", () => {
    const out = tempDir();
    release(out, APP);
    const names = [`notes-2.3.4-${HOST}.tar.gz`, "notes-2.3.4-node.tar.gz"];
    expect(readdirSync(out).sort()).toEqual(["SHA256SUMS", ...names].sort());
    expect(run(["sha256sum", "--check", "--strict", "SHA256SUMS"], out).stdout).toBe(names.sort().map((n) => `${n}: OK\n`).join(""));
    const base = `notes-2.3.4-${HOST}`;
    const listing = run(["tar", "--numeric-owner", "--utc", "-tvzf", join(out, `${base}.tar.gz`)]).stdout.trim().split("\n");
    for (const line of listing) expect(line).toMatch(/^[d-]rw[x-]r-[x-]r-[x-] 0\/0 +\d+ 2023-11-14 22:13 /);
    expect(listing.map((l) => l.split(/\s+/).at(-1))).toEqual([`${base}/`, `${base}/LICENSE.rodent`, `${base}/README.md`, `${base}/main.ts`, `${base}/notes`, `${base}/notes.1`]);
    const node = run(["tar", "-tzf", join(out, "notes-2.3.4-node.tar.gz")]).stdout.trim().split("\n");
    expect(node).toContain("notes-2.3.4-node/notes.mjs");

    const unpacked = tempDir();
    expect(run(["tar", "-xzf", join(out, `${base}.tar.gz`), "-C", unpacked]).code).toBe(0);
    expect(readFileSync(join(unpacked, base, "README.md"), "utf8")).toStartWith("# notes (test fixture)");
    expect(readFileSync(join(unpacked, base, "LICENSE.rodent"), "utf8")).toBe(readFileSync(join(ROOT, "LICENSE"), "utf8"));
    const page = readFileSync(join(unpacked, base, "notes.1"), "utf8");
    expect(page).toStartWith('.TH NOTES 1 "2023-11-14" "notes 2.3.4" "User Commands"\n.SH NAME\nnotes \\- a service built on rodent\n');
    expect(page).toContain("\\fBNOTES_CONFIG\\fR");
    expect(page).not.toMatch(/rodent\.yml|RODENT_|\/rodent\//);

    // contrib/install.sh picks the application's archive by name and installs its binary as that name
    const prefix = join(tempDir(), "prefix");
    const installed = Bun.spawnSync(["sh", join(ROOT, "contrib/install.sh"), "--from", out, "--name", "notes", "--prefix", prefix], { env: { PATH: process.env.PATH!, TMPDIR: tempDir() }, stdout: "pipe", stderr: "pipe" });
    expect(installed.stderr.toString()).toBe("");
    expect(installed.stdout.toString()).toContain(`installed ${prefix}/bin/notes (${HOST})\n`);
    expect(installed.stdout.toString()).toContain(`installed ${prefix}/share/man/man1/notes.1\n`);
    expect(installed.stdout.toString()).toContain(`installed ${prefix}/share/notes/ (README.md, LICENSE.rodent)\n`);
    expect(JSON.parse(run([join(prefix, "bin/notes"), "version", "--json"]).stdout)).toMatchObject({ name: "notes", version: "2.3.4", target: HOST, buildTime: "2023-11-14T22:13:20.000Z" });
  }, 120_000);

  test.if(process.env.RODENT_RELEASE_TEST === "1")("two release builds of an application are byte-identical", () => {
    const [a, b] = [tempDir(), tempDir()];
    release(a, APP);
    release(b, APP);
    expect(readFileSync(join(a, "SHA256SUMS"), "utf8")).toBe(readFileSync(join(b, "SHA256SUMS"), "utf8"));
  }, 120_000);

  test("--entry without --name, a bad name, or --ship of an untracked path is refused before anything is built", () => {
    const entry = ["--entry", "test/fixtures/kitapp/main.ts"];
    for (const extra of [entry, [...entry, "--name", "No"], [...entry, "--name", "notes", "--ship", "no-such-dir"]]) {
      const r = Bun.spawnSync([BUN, "contrib/release/release.ts", "--targets", HOST, "--out", tempDir(), ...extra], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr.toString()).toContain("release: --");
    }
  });
});
