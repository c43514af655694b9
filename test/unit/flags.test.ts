// The command line's own flag parser reads argv as node:util's parseArgs (strict, positionals
// allowed) reads it on Node, with the same messages worded for flags.
import { describe, expect, test } from "bun:test";
import { parseCommand, type Command } from "../../src/cli/command";

const command: Command = {
  name: "serve",
  summary: "",
  flags: {
    port: { type: "string", short: "p", description: "" },
    detach: { type: "boolean", short: "d", description: "" },
    set: { type: "string", multiple: true, description: "" },
    verbose: { type: "boolean", short: "v", description: "" },
  },
  run: async () => 0,
};

function parse(argv: string[]): unknown {
  try {
    const parsed = parseCommand(command, argv, { plugins: [] });
    return parsed === "help" ? "help" : { flags: parsed.flags, positionals: parsed.positionals };
  } catch (error) {
    return (error as Error).message;
  }
}

describe("flags", () => {
  test("values, groups, repeats and positionals read as Node's parseArgs reads them", () => {
    const cases: Array<[string[], Record<string, unknown>, string[]]> = [
      [["--port=", "a"], { port: "" }, ["a"]],
      [["-p8080"], { port: "8080" }, []],
      [["-dv"], { detach: true, verbose: true }, []],
      [["-dp", "80"], { detach: true, port: "80" }, []],
      [["-pd"], { port: "d" }, []],
      [["-dp80"], { detach: true, port: "80" }, []],
      [["--", "--port"], {}, ["--port"]],
      [["a", "--port", "1", "b"], { port: "1" }, ["a", "b"]],
      [["-"], {}, ["-"]],
      [["--set", "a", "--set=b"], { set: ["a", "b"] }, []],
      [["--port", "1", "--port", "2"], { port: "2" }, []],
      [["--port=1=2"], { port: "1=2" }, []],
      [["--port", "-"], { port: "-" }, []],
      [["--port=-1"], { port: "-1" }, []],
      [["-d", "--detach"], { detach: true }, []],
    ];
    for (const [argv, flags, positionals] of cases) expect([argv, parse(argv)]).toEqual([argv, { flags, positionals }]);
    expect(parse(["-h"])).toBe("help");
    expect(parse(["a", "--help"])).toBe("help");
  });

  test("each mistake is one UsageError naming the flag, worded as before", () => {
    const cases: Array<[string[], string]> = [
      [["--foo"], "unknown flag '--foo'"],
      [["-x"], "unknown flag '-x'"],
      [["-dx"], "unknown flag '-x'"],
      [["-xd"], "unknown flag '-x'"],
      [["-d=1"], "unknown flag '-='"],
      [["--no-detach"], "unknown flag '--no-detach'"],
      [["--Port"], "unknown flag '--Port'"],
      [["---x"], "unknown flag '---x'"],
      [["--=x"], "unknown flag '--=x'"],
      [["--constructor"], "unknown flag '--constructor'"],
      [["--port"], "flag '-p, --port <value>' argument missing"],
      [["-p"], "flag '-p, --port <value>' argument missing"],
      [["--set"], "flag '--set <value>' argument missing"],
      [["--detach=1"], "flag '-d, --detach' does not take an argument"],
      [["--help=x"], "flag '-h, --help' does not take an argument"],
      [["--port", "--detach"], "flag '--port' argument is ambiguous.\nDid you forget to specify the option argument for '--port'?\nTo specify an option argument starting with a dash use '--port=-XYZ'."],
      [["-p", "-d"], "flag '-p' argument is ambiguous.\nDid you forget to specify the option argument for '-p'?\nTo specify an option argument starting with a dash use '--port=-XYZ' or '-p-XYZ'."],
    ];
    for (const [argv, message] of cases) expect([argv, parse(argv)]).toEqual([argv, `serve: ${message}`]);
  });
});
