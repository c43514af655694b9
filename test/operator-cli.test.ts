// What an operator types besides the core commands: nginx habits (-t, -s), reopen, shell
// completion generated from the command table, the man page, and the target `version` names.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runRodent, startServer, tempDir, waitFor } from "./helpers";

const have = (tool: string) => Bun.which(tool) !== null;

describe("version names the target", () => {
  test("the compiled binary names os, arch and C library of the host build", async () => {
    const { code, stdout } = await runRodent(["version", "--json"]);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    const arch = process.arch;
    expect(info).toMatchObject({ os: process.platform, arch, libc: "glibc", target: `${process.platform}-${arch}` });
    const text = await runRodent(["version"]);
    expect(text.stdout).toContain(`, ${process.platform}-${arch}: ${process.platform} ${arch} glibc)`);
  });

  test("the Node bundle names 'node' and the platform it runs on", async () => {
    const { code, stdout } = await runRodent(["version", "--json"], { runtime: "node" });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ target: "node", os: process.platform, arch: process.arch, libc: "glibc" });
  });
});

describe("nginx habits", () => {
  test("rodent -t checks the config like 'config check': 0 for a good file, 1 naming the fault for a bad one", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "good.yml"), "server:\n  port: 0\n");
    writeFileSync(join(dir, "bad.yml"), "server:\n  port: eighty\n");
    const good = await runRodent(["-t", "-c", join(dir, "good.yml")]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain("configuration OK");
    const bad = await runRodent(["-t", "-c", join(dir, "bad.yml")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("server.port");
  });

  test("rodent -s reload applies the config of the running instance; -s stop stops it", async () => {
    const s = await startServer();
    const reloaded = await runRodent(["-s", "reload", "--pid-file", s.pidFile], { env: { HOME: s.dir } });
    expect(reloaded.code).toBe(0);
    expect(reloaded.stdout).toStartWith("reload applied");
    const stopped = await runRodent(["-s", "stop", "--pid-file", s.pidFile], { env: { HOME: s.dir } });
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toStartWith("rodent stopped");
    expect(await s.exited()).toBe(0);
  });

  test("rodent -s with an unknown verb is a usage error (2) naming the verbs", async () => {
    const r = await runRodent(["-s", "restart-now"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("rodent: -s 'restart-now' is not a verb rodent knows: use stop, reload or reopen\n");
  });
});

describe("reopen", () => {
  test("rodent reopen (and -s reopen) makes the instance write to a new file after the old one was moved", async () => {
    const dir = tempDir();
    const logFile = join(dir, "rodent.log");
    const s = await startServer(["--log-file", logFile], { env: { HOME: dir } });
    for (const argv of [["reopen"], ["-s", "reopen"]]) {
      renameSync(logFile, `${logFile}.1`);
      const r = await runRodent([...argv, "--pid-file", s.pidFile], { env: { HOME: dir } });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`asked rodent (PID ${s.pid}) to reopen its log file (SIGUSR1)\n`);
      await waitFor(() => existsSync(logFile) && readFileSync(logFile, "utf8").includes("log file reopened"), 10_000, "a reopened log file");
    }
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });

  test("reopen with no instance running exits 1 with one line naming the PID file", async () => {
    const dir = tempDir();
    const r = await runRodent(["reopen", "--pid-file", join(dir, "none.pid")], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rodent: rodent is not running (PID file ${join(dir, "none.pid")}); start it with 'rodent serve'\n`);
  });
});

describe("shell completion", () => {
  /** Asks the bash script for completions of `words` (the last one is the word being typed). */
  function complete(script: string, ...words: string[]): string[] {
    const dir = tempDir();
    mkdirSync(join(dir, "conf"));
    writeFileSync(join(dir, "conf", "site.yml"), "");
    const program = `source ${join(dir, "c.bash")}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_rodent; printf '%s\\n' "\${COMPREPLY[@]}"`;
    writeFileSync(join(dir, "c.bash"), script);
    const r = Bun.spawnSync(["bash", "--norc", "--noprofile", "-c", program], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    return r.stdout.toString().split("\n").filter(Boolean).sort();
  }

  test("bash: the script registers for rodent and completes commands, flags, words and files from the command table", async () => {
    const { code, stdout } = await runRodent(["completion", "bash"]);
    expect(code).toBe(0);
    const dir = tempDir();
    writeFileSync(join(dir, "c.bash"), stdout);
    const registered = Bun.spawnSync(["bash", "--norc", "-c", `source ${join(dir, "c.bash")} && complete -p rodent`], { stdout: "pipe" });
    expect(registered.stdout.toString()).toBe("complete -o filenames -F _rodent rodent\n");

    expect(complete(stdout, "rodent", "re")).toEqual(["reload", "reopen", "restart"]);
    expect(complete(stdout, "rodent", "")).toContain("completion");
    expect(complete(stdout, "rodent", "serve", "--pid")).toEqual(["--pid-file"]);
    expect(complete(stdout, "rodent", "stop", "--")).toEqual(["--config", "--force", "--help", "--json", "--pid-file", "--timeout"]);
    expect(complete(stdout, "rodent", "config", "ch")).toEqual(["check"]);
    expect(complete(stdout, "rodent", "completion", "")).toEqual(["bash", "fish", "zsh"]);
    expect(complete(stdout, "rodent", "-s", "re")).toEqual(["reload", "reopen"]);
    expect(complete(stdout, "rodent", "-s", "reload", "--p")).toEqual(["--pid-file"]);
    expect(complete(stdout, "rodent", "-t", "--c")).toEqual(["--config"]);
    expect(complete(stdout, "rodent", "-t", "ch")).toEqual([]);
    // a flag that takes a file completes file names; one that takes a number completes nothing
    expect(complete(stdout, "rodent", "serve", "-c", "conf/s")).toEqual(["conf/site.yml"]);
    expect(complete(stdout, "rodent", "serve", "--port", "")).toEqual([]);
  });

  test.if(have("zsh"))("zsh: the script parses", async () => {
    const { stdout } = await runRodent(["completion", "zsh"]);
    const r = Bun.spawnSync(["zsh", "-n", "-c", stdout], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
  });

  test("zsh and fish: every command and every flag of the table is offered", async () => {
    const zsh = (await runRodent(["completion", "zsh"])).stdout;
    const fish = (await runRodent(["completion", "fish"])).stdout;
    expect(zsh).toStartWith("#compdef rodent\n");
    for (const name of ["serve", "stop", "status", "reload", "reopen", "restart", "health", "logs", "config", "version", "completion"]) {
      expect(zsh).toContain(`'${name}:`);
      expect(fish).toContain(` -a ${name} -d `);
    }
    expect(zsh).toContain("'(-c --config)'{-c,--config}'[config file");
    expect(fish).toContain("complete -c rodent -n '__fish_seen_subcommand_from serve' -s c -l config -r -F -d ");
    expect(fish).toContain("complete -c rodent -n '__fish_seen_subcommand_from stop' -l timeout -x -d ");
  });

  test("an unknown shell is a usage error (2)", async () => {
    const r = await runRodent(["completion", "tcsh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("rodent: completion: unknown shell 'tcsh': use bash, zsh or fish\n");
  });
});

describe("the man page", () => {
  const page = () => readFileSync(join(ROOT, "dist/rodent.1"), "utf8");

  test("dist/rodent.1 documents every command and flag of the table", async () => {
    const text = page();
    expect(text).toStartWith(".TH RODENT 1 ");
    for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "SIGNALS", "EXIT STATUS"]) expect(text).toContain(`\n.SH ${section}\n`);
    const help = (await runRodent(["help"])).stdout;
    const names = [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!).filter((n) => n !== "help");
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      expect(text).toContain(`\n.SS ${name}`);
      const flags = [...(await runRodent([name, "--help"])).stdout.matchAll(/--([a-z-]+)/g)].map((m) => m[1]!).filter((f) => f !== "help");
      for (const flag of flags) expect(text).toContain(`\\fB\\-\\-${flag.replaceAll("-", "\\-")}\\fR`);
    }
  });

  test.if(have("groff"))("groff renders it without a warning", () => {
    const r = Bun.spawnSync(["groff", "-man", "-Tutf8", "-ww", "-z", join(ROOT, "dist/rodent.1")], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    const shown = Bun.spawnSync(["groff", "-man", "-Tutf8", join(ROOT, "dist/rodent.1")], { stdout: "pipe" }).stdout.toString().replace(/.\x08/g, "");
    expect(shown).toContain("rodent -s stop|reload|reopen");
  });
});



