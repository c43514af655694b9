// Checks what `npm run release` wrote (CI runs it after the release): every archive is listed in
// SHA256SUMS and matches it, holds what install.sh and users expect, carries a binary for the
// target its name says (ELF machine and loader, Mach-O CPU), the host's runs and names itself, and
// a second release build of the same commit gives byte-identical files.
import { $ } from "bun";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json";
import { TARGETS } from "./release-targets";

const ROOT = resolve(import.meta.dir, "../..");
const dir = resolve(Bun.argv[2] ?? join(ROOT, "dist/release"));
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  if (!ok) failures.push(what);
};

const version = pkg.version;
const expected = [...Object.keys(TARGETS).map((t) => `rodent-${version}-${t}.tar.gz`), `rodent-${version}-node.tar.gz`].sort();
check(JSON.stringify(readdirSync(dir).sort()) === JSON.stringify([...expected, "SHA256SUMS"].sort()), `${dir} holds ${readdirSync(dir).join(", ")}; expected ${expected.join(", ")} and SHA256SUMS`);
const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8");
for (const name of expected) {
  const digest = createHash("sha256").update(readFileSync(join(dir, name))).digest("hex");
  check(sums.includes(`${digest}  ${name}\n`), `SHA256SUMS does not list ${name} with its digest ${digest}`);
}

const unpacked = mkdtempSync(join(tmpdir(), "rodent-check-"));
try {
  for (const [target, loader] of Object.entries(TARGETS).map(([t]) => [t, expectedBinary(t)] as const)) {
    const base = `rodent-${version}-${target}`;
    await $`tar -xzf ${join(dir, `${base}.tar.gz`)} -C ${unpacked}`.quiet();
    for (const f of ["rodent", "rodent.1", "README.md", "LICENSE", "contrib/install.sh", "contrib/systemd/rodent.service"]) {
      check(Bun.file(join(unpacked, base, f)).size > 0, `${base}.tar.gz has no ${f}`);
    }
    const head = readFileSync(join(unpacked, base, "rodent")).subarray(0, 4096);
    check(loader(head), `${base}/rodent is not a binary for ${target}`);
  }
  const host = `${process.platform}-${process.arch}`;
  const info = JSON.parse(await $`${join(unpacked, `rodent-${version}-${host}`, "rodent")} version --json`.text());
  check(info.target === host && info.version === version, `the ${host} binary says ${JSON.stringify(info)}`);
  await $`tar -xzf ${join(dir, `rodent-${version}-node.tar.gz`)} -C ${unpacked}`.quiet();
  const node = JSON.parse(await $`node ${join(unpacked, `rodent-${version}-node`, "rodent.mjs")} version --json`.text());
  check(node.target === "node" && node.version === version, `the Node bundle says ${JSON.stringify(node)}`);

  // reproducible: the same commit built again gives the same bytes
  const again = join(unpacked, "again");
  await $`bun contrib/release/release.ts --out ${again}`.cwd(ROOT).quiet();
  check(readFileSync(join(again, "SHA256SUMS"), "utf8") === sums, `a second release build differs:\n${sums}---\n${readFileSync(join(again, "SHA256SUMS"), "utf8")}`);
} finally {
  rmSync(unpacked, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`check-release: ${failures.length} problem(s):\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`check-release: ${expected.length} archives in ${dir} verified, each for its target, and reproducible`);

/** A predicate on the first bytes of the binary a target must ship. */
function expectedBinary(target: string): (head: Uint8Array) => boolean {
  const [os, arch, libc] = target.split("-");
  const text = (head: Uint8Array) => new TextDecoder("latin1").decode(head);
  if (os === "darwin") {
    // MH_MAGIC_64, then cputype: x86_64 0x01000007, arm64 0x0100000c (little-endian)
    const cpu = arch === "arm64" ? 0x0100000c : 0x01000007;
    return (h) => new DataView(h.buffer, h.byteOffset).getUint32(0, true) === 0xfeedfacf && new DataView(h.buffer, h.byteOffset).getUint32(4, true) === cpu;
  }
  // ELF, e_machine x86-64 62 or aarch64 183, and the program interpreter of its C library
  const machine = arch === "arm64" ? 183 : 62;
  const interpreter = libc === "musl" ? `/lib/ld-musl-${arch === "arm64" ? "aarch64" : "x86_64"}.so.1` : arch === "arm64" ? "/lib/ld-linux-aarch64.so.1" : "/lib64/ld-linux-x86-64.so.2";
  return (h) => text(h.subarray(0, 4)) === "\x7fELF" && new DataView(h.buffer, h.byteOffset).getUint16(18, true) === machine && text(h).includes(interpreter);
}
