import { describe, expect, test } from "bun:test";
import { runRodent } from "./helpers";

describe("the command line", () => {
  test("version prints a semver, the commit and the build time", async () => {
    const { code, stdout } = await runRodent(["version"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^rodent \d+\.\d+\.\d+\S* \(commit \S+, built \d{4}-\d\d-\d\dT[\d:.]+Z, bun \d/);
  });

  test("version --json is machine-readable", async () => {
    const { code, stdout } = await runRodent(["version", "--json"]);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Date.parse(info.buildTime)).not.toBeNaN();
    expect(info.runtime).toMatch(/^bun /);
  });

  test("help lists every command", async () => {
    const { code, stdout } = await runRodent(["help"]);
    expect(code).toBe(0);
    for (const name of ["serve", "stop", "status", "reload", "health", "logs", "config", "version"]) expect(stdout).toContain(`  ${name} `);
  });

  for (const name of ["serve", "stop", "status", "reload", "health", "logs", "config", "version"]) {
    test(`${name} --help and -h print that command's usage and exit 0`, async () => {
      for (const flag of ["--help", "-h"]) {
        const { code, stdout } = await runRodent([name, flag]);
        expect(code).toBe(0);
        expect(stdout).toStartWith(`Usage: rodent ${name}`);
        expect(stdout).toContain("--help");
      }
    });
  }

  test("an unknown command exits 2 with one clear line and a hint", async () => {
    const { code, stderr } = await runRodent(["frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toStartWith("rodent: unknown command 'frobnicate'\n");
  });

  test("an unknown flag exits 2 naming the flag", async () => {
    const { code, stderr } = await runRodent(["serve", "--frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--frobnicate");
    expect(stderr).toContain("rodent serve --help");
  });

  test("a bad flag value exits 2 naming the flag and what was expected", async () => {
    for (const args of [["serve", "--port", "99999"], ["serve", "--shutdown-timeout", "soon"], ["serve", "--log-level", "loud"], ["logs", "-n", "many"]]) {
      const { code, stderr } = await runRodent(args);
      expect(code).toBe(2);
      expect(stderr).toContain(`--${args[1]!.replace(/^-+/, "") === "n" ? "lines" : args[1]!.replace(/^-+/, "")}`);
      expect(stderr).toMatch(/expected/);
    }
  });

  test("a flag that needs a value and has none exits 2", async () => {
    const { code, stderr } = await runRodent(["serve", "--port"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--port");
  });

  test("the Node bundle runs the same CLI", async () => {
    const { code, stdout } = await runRodent(["version"], { runtime: "node" });
    expect(code).toBe(0);
    expect(stdout).toMatch(/node 20|node \d+/);
  });
});
