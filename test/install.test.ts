// contrib/install.sh against a local directory of release files standing in for the download
// site (no network): the archive for the machine is chosen, a tampered one is refused.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tarGz } from "../contrib/release/tar";
import { ROOT, tempDir } from "./helpers";

const SCRIPT = join(ROOT, "contrib/install.sh");
const TARGETS = ["linux-x64", "linux-arm64", "linux-x64-musl", "linux-arm64-musl", "darwin-arm64", "darwin-x64"];
const SHELLS = ["sh", "dash"].filter((s) => Bun.which(s) !== null);

/** A release directory whose "binaries" are scripts that print the target they stand for. */
function releaseDir(version = "9.8.7"): string {
  const dir = tempDir();
  writeFileSync(join(dir, "SHA256SUMS"), writeRelease(dir, "rodent", version));
  return dir;
}

/** Writes the archives of program `name` into `dir`; returns their SHA256SUMS lines. */
function writeRelease(dir: string, name: string, version: string): string {
  const sums: string[] = [];
  for (const target of [...TARGETS, "node"]) {
    const base = `${name}-${version}-${target}`;
    const program = target === "node" ? `${name}.mjs` : name;
    const data = tarGz([
      { path: base },
      { path: `${base}/LICENSE`, data: new TextEncoder().encode("MIT\n") },
      { path: `${base}/README.md`, data: new TextEncoder().encode("# rodent\n") },
      { path: `${base}/contrib` },
      { path: `${base}/contrib/systemd` },
      { path: `${base}/contrib/systemd/rodent.service`, data: new TextEncoder().encode("[Service]\n") },
      { path: `${base}/${program}`, data: new TextEncoder().encode(`#!/bin/sh\necho "${name} ${version} for ${target}"\n`), executable: true },
      { path: `${base}/${name}.1`, data: new TextEncoder().encode(`.TH ${name.toUpperCase()} 1\n`) },
    ], 1700000000);
    writeFileSync(join(dir, `${base}.tar.gz`), data);
    sums.push(`${new Bun.CryptoHasher("sha256").update(data).digest("hex")}  ${base}.tar.gz\n`);
  }
  return sums.join("");
}

/** A PATH directory whose uname and ldd pretend to be another machine; everything else is real. */
function fakeMachine(os: string, machine: string, libc: "glibc" | "musl"): string {
  const dir = tempDir();
  writeFileSync(join(dir, "uname"), `#!/bin/sh\ncase "$1" in -s) echo ${os} ;; -m) echo ${machine} ;; *) echo ${os} ;; esac\n`);
  writeFileSync(join(dir, "ldd"), libc === "musl" ? "#!/bin/sh\necho 'musl libc (x86_64)' >&2\nexit 1\n" : "#!/bin/sh\necho 'ldd (GNU libc) 2.36'\n");
  chmodSync(join(dir, "uname"), 0o755);
  chmodSync(join(dir, "ldd"), 0o755);
  return dir;
}

function install(shell: string, args: string[], env: Record<string, string> = {}) {
  const r = Bun.spawnSync([shell, SCRIPT, ...args], { env: { PATH: process.env.PATH!, TMPDIR: tempDir(), ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const runInstalled = (prefix: string) => Bun.spawnSync([join(prefix, "bin/rodent")], { stdout: "pipe" }).stdout.toString();

for (const shell of SHELLS) {
  describe(`contrib/install.sh under ${shell}`, () => {
    test("installs the archive for this machine (linux-x64, glibc) into the prefix and says what it did", () => {
      const from = releaseDir();
      const prefix = join(tempDir(), "prefix");
      const r = install(shell, ["--from", from, "--prefix", prefix]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(runInstalled(prefix)).toBe(`rodent 9.8.7 for ${process.platform}-${process.arch}\n`);
      expect(r.stdout).toContain(`verified rodent-9.8.7-${process.platform}-${process.arch}.tar.gz (sha256 `);
      expect(r.stdout).toContain(`installed ${prefix}/bin/rodent (${process.platform}-${process.arch})\n`);
      expect(r.stdout).toContain(`installed ${prefix}/share/man/man1/rodent.1\n`);
      expect(readFileSync(join(prefix, "share/rodent/contrib/systemd/rodent.service"), "utf8")).toBe("[Service]\n");
    });

    for (const [os, machine, libc, expected] of [
      ["Linux", "aarch64", "musl", "linux-arm64-musl"],
      ["Linux", "x86_64", "musl", "linux-x64-musl"],
      ["Linux", "aarch64", "glibc", "linux-arm64"],
      ["Darwin", "arm64", "glibc", "darwin-arm64"],
      ["Darwin", "x86_64", "glibc", "darwin-x64"],
    ] as const) {
      test(`on ${os} ${machine} with ${libc} it picks ${expected}`, () => {
        const prefix = join(tempDir(), "prefix");
        const r = install(shell, ["--from", releaseDir(), "--prefix", prefix], { PATH: `${fakeMachine(os, machine, libc)}:${process.env.PATH}` });
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`installed ${prefix}/bin/rodent (${expected})\n`);
        expect(runInstalled(prefix)).toBe(`rodent 9.8.7 for ${expected}\n`);
      });
    }

    test("a tampered archive is refused with exit 1 and one line, and nothing is installed", () => {
      const from = releaseDir();
      const name = `rodent-9.8.7-${process.platform}-${process.arch}.tar.gz`;
      const bytes = readFileSync(join(from, name));
      bytes[bytes.length - 20]! ^= 0xff;
      writeFileSync(join(from, name), bytes);
      const prefix = join(tempDir(), "prefix");
      const r = install(shell, ["--from", from, "--prefix", prefix]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(new RegExp(`^install\\.sh: checksum mismatch for ${name.replaceAll(".", "\\.")}: SHA256SUMS says [0-9a-f]{64}, the file has [0-9a-f]{64}; nothing was installed .*\\n$`));
      expect(existsSync(prefix)).toBe(false);
    });

    test("a machine without a release (riscv64) and a release without this machine's archive are refused", () => {
      const prefix = join(tempDir(), "prefix");
      const riscv = install(shell, ["--from", releaseDir(), "--prefix", prefix], { PATH: `${fakeMachine("Linux", "riscv64", "glibc")}:${process.env.PATH}` });
      expect(riscv.code).toBe(1);
      expect(riscv.stderr).toBe("install.sh: no release for riscv64: build from source (README, Building)\n");
      const from = releaseDir();
      writeFileSync(join(from, "SHA256SUMS"), readFileSync(join(from, "SHA256SUMS"), "utf8").split("\n").filter((l) => !l.includes("linux-x64.tar")).join("\n"));
      const missing = install(shell, ["--from", from, "--prefix", prefix]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`install.sh: SHA256SUMS from ${from} lists no archive for linux-x64\n`);
      expect(existsSync(prefix)).toBe(false);
    });

    test("--name installs an application built on rodent from its own archives, beside rodent's in one SHA256SUMS", () => {
      const from = releaseDir();
      // an application whose name starts like another's must not be taken for it
      writeFileSync(join(from, "SHA256SUMS"), readFileSync(join(from, "SHA256SUMS"), "utf8") + writeRelease(from, "notes", "2.3.4") + writeRelease(from, "notes-admin", "1.0.0"));
      const prefix = join(tempDir(), "prefix");
      const r = install(shell, ["--from", from, "--name", "notes", "--prefix", prefix]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const host = `${process.platform}-${process.arch}`;
      expect(r.stdout).toContain(`verified notes-2.3.4-${host}.tar.gz (sha256 `);
      expect(r.stdout).toContain(`installed ${prefix}/bin/notes (${host})\n`);
      expect(r.stdout).toContain(`installed ${prefix}/share/man/man1/notes.1\n`);
      expect(r.stdout).toContain(`installed ${prefix}/share/notes/ (README.md, LICENSE, contrib/)\n`);
      expect(readdirSync(join(prefix, "bin"))).toEqual(["notes"]);
      expect(Bun.spawnSync([join(prefix, "bin/notes")], { stdout: "pipe" }).stdout.toString()).toBe(`notes 2.3.4 for ${host}\n`);
      const bad = install(shell, ["--from", from, "--name", "../notes", "--prefix", prefix]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toBe("install.sh: --name '../notes': expected lower-case letters, digits and '-', starting with a letter\n");
    });

    test("without --from or RODENT_RELEASE_URL it says where to point it; RODENT_RELEASE_URL works", () => {
      const none = install(shell, []);
      expect(none.code).toBe(1);
      expect(none.stderr).toBe("install.sh: say where the release files are: --from URL or DIR, or RODENT_RELEASE_URL\n");
      const prefix = join(tempDir(), "prefix");
      const r = install(shell, ["--prefix", prefix], { RODENT_RELEASE_URL: releaseDir() });
      expect(r.code).toBe(0);
      expect(readdirSync(join(prefix, "bin"))).toEqual(["rodent"]);
    });
  });
}

test.if(Bun.which("curl") !== null)("contrib/install.sh downloads from a base URL (served on 127.0.0.1)", async () => {
  const from = releaseDir();
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(Bun.file(join(from, new URL(req.url).pathname.split("/").at(-1)!))) });
  try {
    const prefix = join(tempDir(), "prefix");
    const proc = Bun.spawn(["sh", SCRIPT, "--from", `http://127.0.0.1:${server.port}/v9.8.7/`, "--prefix", prefix], { env: { PATH: process.env.PATH!, TMPDIR: tempDir() }, stdout: "pipe", stderr: "pipe" });
    expect(await proc.exited).toBe(0);
    expect(runInstalled(prefix)).toBe(`rodent 9.8.7 for ${process.platform}-${process.arch}\n`);
  } finally {
    server.stop(true);
  }
});

test.if(Bun.which("shellcheck") !== null)("contrib/install.sh is shellcheck-clean as POSIX sh", () => {
  const r = Bun.spawnSync(["shellcheck", "--shell=sh", SCRIPT], { stdout: "pipe" });
  expect(r.stdout.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});


