import { describe, expect, test } from "bun:test";
import { defaultConfigFile } from "../../src/cli/config-template";
import { parseSimpleYaml } from "../../src/config/yaml-simple";
import { parseYamlFile } from "../../src/config/yaml";

/** Every key path the loader asks a line for: the top-level keys and the keys one level below. */
function keyPaths(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    out.push(k);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) for (const k2 of Object.keys(v)) out.push(`${k}.${k2}`);
  }
  return out;
}

/** The fast path either declines or answers exactly what the yaml package answers. */
function agrees(text: string): "fast" | "declined" {
  const fast = parseSimpleYaml(text);
  if (!fast) return "declined";
  const slow = parseYamlFile(text, "f.yml");
  expect(slow.problems).toEqual([]);
  expect(fast.problems).toEqual([]);
  expect(fast.value).toEqual(slow.value);
  for (const key of keyPaths(slow.value)) expect([key, fast.lineOf(key)]).toEqual([key, slow.lineOf(key)]);
  return "fast";
}

const TYPICAL = `# production
environment: production

server:
  host: 0.0.0.0
  port: 8042   # behind nginx
  pidFile: '/run/rodent/rodent.pid'
  shutdownTimeout: "30s"
  trustProxy:
    - 10.0.0.0/8
    - "::1"
  daemonize: false

health:
  interval: 30s

logs:
  output: file
  path: /var/log/rodent/rodent.log
  access: true
`;

describe("the Bun.YAML fast path for config files", () => {
  test("takes the file 'rodent config init' writes and a typical hand-written one, with the yaml package's values and lines", async () => {
    expect(agrees(await defaultConfigFile())).toBe("fast");
    expect(agrees(TYPICAL)).toBe("fast");
    expect(agrees("server:\n  trustProxy:\n  - 10.0.0.0/8\n  port: 1\n")).toBe("fast");
    expect(agrees("environment: it''s\nlogs:\n  format: 'it''s'\n  path: \"a\\\"b # c\" # d\n")).toBe("fast");
    expect(parseSimpleYaml("# only a comment\n\n")?.value).toBeNull();
  });

  test("declines every file it cannot vouch for, so the yaml package reports its problem by line as before", () => {
    const declined = [
      "server:\n  port: 1\n  port: 2\n", // a duplicate key below the top
      "server:\n  port: 1\nserver:\n  host: a\n", // a duplicate section
      "base: &b 1\nenvironment: *b\n", // anchors and aliases
      "environment: !!binary aGk=\n", // a tag
      "server:\n  port: 0\n---\nlogs: {}\n", // a second document
      "server:\n\tport: 1\n", // a tab
      "server: {port: 1}\n", // a flow mapping
      "server:\n  a:\n    b: 1\n", // nesting a config never has
      "- a\n- b\n", // a document that is a list
      "environment: a: b\n", // a plain value with ': '
      "environment: \"open\n  quote\"\n", // a quoted value over two lines
      "environment: |\n  block\n", // a block scalar
      "server:\n  host: a\n  b\n", // a plain value continued on the next line
      "environment: x\n  port: 1\n", // a key under a scalar
      "\uFEFFenvironment: x\n", // a byte-order mark
      "environment: x\r\n", // CRLF line ends
      "server:\n  trustProxy: [a, [b]]\n", // a nested flow list
      "? environment\n: x\n", // an explicit key
      "null: x\n", // a key YAML reads as null
      "server:\n  port: [\n", // a parse error
    ];
    for (const text of declined) expect([text, parseSimpleYaml(text)]).toEqual([text, undefined]);
  });

  test("whatever it takes agrees with the yaml package, over generated block-style documents", () => {
    const scalars = ["1", "-5", "0x1F", "0o17", "1e3", "012", "+5", ".inf", "~", "null", "True", "yes", "10s", "2001-12-14", "1:20", "'q'", '"d\\tq"', "a # c", "a#b", "[]", "[a, 1, '::1']", ""];
    const names = ["environment", "server", "port", "host", "logs", "x-y", "a_b"];
    let seed = 7;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    let fast = 0;
    for (let doc = 0; doc < 400; doc++) {
      const lines: string[] = [];
      for (let s = 0, sections = 1 + next(4); s < sections; s++) {
        const top = names[next(names.length)]!;
        if (next(3) === 0) {
          lines.push(`${top}: ${scalars[next(scalars.length)]}`);
          continue;
        }
        lines.push(`${top}:`);
        const indent = " ".repeat(1 + next(4));
        for (let k = 0, n = next(5); k < n; k++) {
          const key = names[next(names.length)]!;
          if (next(4) === 0) lines.push(`${indent}${key}:`, ...Array.from({ length: next(3) }, () => `${indent}${next(2) ? "  " : ""}- ${scalars[next(scalars.length - 1)]}`));
          else lines.push(`${indent}${key}: ${scalars[next(scalars.length)]}`);
        }
      }
      if (agrees(`${lines.join("\n")}\n`) === "fast") fast++;
    }
    // most documents have no duplicate key and take the fast path; the rest were declined
    expect(fast).toBeGreaterThan(50);
  });
});
