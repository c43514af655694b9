// YAML parsing with line numbers and a cap on alias expansion. The `yaml` package is used on every
// runtime: Bun.YAML's errors carry no line, and the Node bundle has no Bun.YAML at all.
import { LineCounter, parseDocument } from "yaml";
import type { Problem } from "./load";

export interface ParsedYaml {
  value: unknown;
  problems: Problem[];
  /** The 1-based line of a dotted key path, when the document has it. */
  lineOf(key: string): number | undefined;
}

export function parseYamlFile(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: Problem[] = doc.errors.map((e) => ({
    source: `file ${file}:${lines.linePos(e.pos[0]).line}`,
    key: "(yaml)",
    message: e.message.split("\n")[0]!,
  }));
  let value: unknown = null;
  if (problems.length === 0) {
    try {
      // maxAliasCount bounds "billion laughs" documents; beyond it toJS throws.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push({ source: `file ${file}`, key: "(yaml)", message: (error as Error).message });
    }
  }
  return {
    value,
    problems,
    lineOf(key) {
      const node = doc.getIn(key.split("."), true) as { range?: [number, number, number] } | undefined;
      const pair = node?.range ? node.range[0] : undefined;
      return pair === undefined ? undefined : lines.linePos(pair).line;
    },
  };
}
