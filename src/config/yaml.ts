// YAML parsing with line numbers and caps on keys and alias expansion, by the `yaml` package: for
// a file the fast path (yaml-simple.ts, Bun.YAML) does not take, and for every file on Node, which
// has no Bun.YAML. Bun.YAML's errors carry no line, so a file with a problem always comes here.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { Problem } from "./load";
import { MAX_KEYS, type ParsedYaml } from "./yaml-limits";

export { MAX_KEYS, type ParsedYaml };

/**
 * Parses `text` in time linear in its size: the package's own duplicate-key check and `getIn`
 * scan a map's items for every key (40 000 keys took minutes), so both are done here in one
 * walk that also counts keys against MAX_KEYS before anything is expanded.
 */
export function parseYamlFile(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const problems: Problem[] = doc.errors.map((e) => ({
    source: `file ${file}:${lines.linePos(e.pos[0]).line}`,
    key: "(yaml)",
    message: yamlMessage(e.code, e.message),
  }));
  const keyLines = new Map<string, number>();
  let value: unknown = null;
  if (problems.length === 0) {
    const keys = walk(doc.contents, (offset) => lines.linePos(offset).line, keyLines, problems, file);
    if (keys > MAX_KEYS) {
      problems.push({ source: `file ${file}`, key: "(file)", message: `has ${keys} keys; the cap is ${MAX_KEYS} (a rodent config has about 25): is this the right file?` });
    }
  }
  if (problems.length === 0) {
    try {
      // maxAliasCount bounds "billion laughs" documents; beyond it toJS throws.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push({ source: `file ${file}`, key: "(yaml)", message: (error as Error).message });
    }
    // `a: &x [*x]` is a value that contains itself: nothing in a config can be, and printing it would never end
    if (problems.length === 0 && containsItself(value)) {
      problems.push({ source: `file ${file}`, key: "(yaml)", message: "an alias refers to a node that contains it: remove the cycle" });
      value = null;
    }
  }
  return { value, problems, lineOf: (key) => keyLines.get(key) };
}

/**
 * Visits every node once (an explicit stack: no recursion depth to exhaust), reports duplicate
 * keys in a map, records the line of each top-level key and of each key one level below it, and
 * returns how many mapping keys there are. Aliases are not followed: their anchors count once.
 */
function walk(root: unknown, lineAt: (offset: number) => number, keyLines: Map<string, number>, problems: Problem[], file: string): number {
  let keys = 0;
  const stack: Array<{ node: unknown; prefix: string | undefined }> = [{ node: root, prefix: "" }];
  while (stack.length > 0) {
    const { node, prefix } = stack.pop()!;
    if (isSeq(node)) {
      for (const item of node.items) stack.push({ node: item, prefix: undefined });
    } else if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        keys++;
        const key = pair.key as Node | null;
        const name = isScalar(key) ? String(key.value) : undefined;
        const line = key?.range ? lineAt(key.range[0]) : undefined;
        if (name !== undefined) {
          // the package's own check: scalar keys are equal when their values are (1 and "1" differ)
          const identity = `${typeof (key as { value: unknown }).value}:${name}`;
          if (seen.has(identity)) problems.push({ source: `file ${file}${line ? `:${line}` : ""}`, key: "(yaml)", message: "Map keys must be unique" });
          seen.add(identity);
          if (prefix !== undefined && line !== undefined) keyLines.set(prefix + name, line);
        }
        const below = prefix === "" && name !== undefined ? `${name}.` : undefined;
        if (!isAlias(pair.value)) stack.push({ node: pair.value, prefix: below });
      }
    }
  }
  return keys;
}

/** The parser's message, or ours where its own would send a user to the library's API. */
function yamlMessage(code: string, message: string): string {
  if (code === "MULTIPLE_DOCS") return "a config file holds one YAML document: remove the '---' that starts a second one here";
  if (/call stack/i.test(message)) return "nested too deeply to be a config: a rodent config is three levels deep";
  return message.split("\n")[0]!;
}

/**
 * True when some object or array in `root` reaches itself. Depth-first without recursion; each
 * object is entered once, so shared aliases cost nothing extra. `open` holds the current path.
 */
function containsItself(root: unknown): boolean {
  const open = new Set<object>();
  const done = new Set<object>();
  const stack: Array<{ node: object; leaving: boolean }> = isObject(root) ? [{ node: root, leaving: false }] : [];
  while (stack.length > 0) {
    const { node, leaving } = stack.pop()!;
    if (leaving) {
      open.delete(node);
      done.add(node);
      continue;
    }
    if (open.has(node)) return true;
    if (done.has(node)) continue;
    open.add(node);
    stack.push({ node, leaving: true });
    const children = node instanceof Map || node instanceof Set ? [...node.values()] : Object.values(node);
    for (const child of children) if (isObject(child)) stack.push({ node: child, leaving: false });
  }
  return false;
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}
