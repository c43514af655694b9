// The fast path for a config file written the usual way (block mappings two levels deep, scalars,
// lists of scalars): the runtime's own parser reads the values, and one pass over the lines finds
// each key's line, duplicate keys and the key count. The `yaml` package (5–11 ms of start-up to
// load) is then needed only for a file outside that shape, one with a problem to locate by line,
// or a runtime without Bun.YAML (Node): the caller falls back to it whenever this answers undefined.
import { MAX_KEYS, type ParsedYaml } from "./yaml-limits";

/** A key the fast path takes: plain, and not one YAML would read as null or a boolean. */
const KEY_LINE = /^([A-Za-z][\w-]*):(?: (.*))?$/;
const NOT_A_NAME = /^(?:null|true|false)$/i;
/** Where a plain scalar would start something else: an anchor, alias, tag, block or flow collection, a reserved character. */
const SPECIAL_START = /^(?:[&*!|>{}[\]%@`?,]|- |-$)/;

/** `[a, "b", 3]`: no nesting, anchors, tags or comments inside (those take the `yaml` path). */
const FLOW_LIST = /^\[[^[\]{}&*!#|>`%@?]*\]$/;

interface Section {
  keys: string[];
  /** The indentation of its keys, once the first one is seen. */
  indent: number | undefined;
}

/**
 * The parsed file with the lines of its keys, or undefined when the fast path cannot vouch for
 * the answer (then the `yaml` package parses it and reports whatever is wrong, exactly as before).
 * Agrees with parseYamlFile in yaml.ts on every file it accepts: the same value, the same lines.
 */
export function parseSimpleYaml(text: string): ParsedYaml | undefined {
  const parse = (globalThis as { Bun?: { YAML?: { parse(text: string): unknown } } }).Bun?.YAML?.parse;
  if (!parse || text.includes("\t") || text.includes("\r") || text.charCodeAt(0) === 0xfeff) return undefined;
  const lines = new Map<string, number>();
  const top: string[] = [];
  const sections = new Map<string, Section>();
  let section: Section | undefined;
  let sectionName = "";
  /** A key with nothing after its colon: list items may follow at this indentation or deeper. */
  let opened: { indent: number; level: 1 | 2 } | undefined;
  let listIndent: number | undefined;
  let keys = 0;
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const body = row.trimStart();
    if (body === "" || body.startsWith("#")) continue;
    const indent = row.length - body.length;
    if (body === "-" || body.startsWith("- ")) {
      const item = body.slice(2).trim();
      const fits = listIndent !== undefined ? indent === listIndent : opened !== undefined && indent >= opened.indent;
      if (!fits || item === "" || !plainValue(item)) return undefined;
      if (opened?.level === 1) section = undefined; // a list, not a section
      listIndent = indent;
      opened = undefined;
      continue;
    }
    const m = KEY_LINE.exec(body);
    if (!m || NOT_A_NAME.test(m[1]!)) return undefined;
    const key = m[1]!;
    const rest = m[2] === undefined || m[2].trim().startsWith("#") ? "" : m[2].trim();
    if (rest !== "" && !plainValue(rest)) return undefined;
    listIndent = undefined;
    if (++keys > MAX_KEYS) return undefined;
    if (indent === 0) {
      if (lines.has(key)) return undefined;
      lines.set(key, i + 1);
      top.push(key);
      section = rest === "" ? { keys: [], indent: undefined } : undefined;
      sectionName = key;
      if (section) sections.set(key, section);
      opened = rest === "" ? { indent: 0, level: 1 } : undefined;
    } else {
      if (!section || (section.indent !== undefined && indent !== section.indent)) return undefined;
      section.indent = indent;
      const path = `${sectionName}.${key}`;
      if (lines.has(path)) return undefined;
      lines.set(path, i + 1);
      section.keys.push(key);
      opened = rest === "" ? { indent, level: 2 } : undefined;
    }
  }
  if (keys === 0) return { value: null, problems: [], lineOf: () => undefined };
  let value: unknown;
  try {
    value = parse(text);
  } catch {
    return undefined; // the yaml package says where
  }
  return sameShape(value, top, sections) ? { value, problems: [], lineOf: (key) => lines.get(key) } : undefined;
}

/** Whether the parsed value has exactly the keys the lines showed, two levels deep, and nothing deeper. */
function sameShape(value: unknown, top: string[], sections: Map<string, Section>): boolean {
  if (!isPlain(value) || !sameKeys(Object.keys(value), top)) return false;
  for (const key of top) {
    const child = value[key];
    const section = sections.get(key);
    if (section && section.keys.length > 0) {
      if (!isPlain(child) || !sameKeys(Object.keys(child), section.keys)) return false;
      if (Object.values(child).some((v) => !flat(v))) return false;
    } else if (!flat(child)) return false;
  }
  return true;
}

function flat(value: unknown): boolean {
  if (Array.isArray(value)) return value.every((item) => item === null || typeof item !== "object");
  return value === null || typeof value !== "object";
}

function sameKeys(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * A value on one line that both parsers read alike: a flow list of scalars, a quoted string closed
 * on this line (then at most a comment), or a plain scalar that starts nothing special and holds
 * no ": ".
 */
function plainValue(text: string): boolean {
  // a flow list of scalars on one line (what `rodent config init` writes for trustProxy)
  if (text[0] === "[") return FLOW_LIST.test(text);
  const q = text[0];
  if (q === '"' || q === "'") {
    let end = -1;
    for (let i = 1; i < text.length; i++) {
      if (q === '"' && text[i] === "\\") i++;
      else if (text[i] === q) {
        if (q === "'" && text[i + 1] === "'") i++;
        else {
          end = i;
          break;
        }
      }
    }
    if (end < 0) return false;
    const after = text.slice(end + 1).trim();
    return after === "" || (after.startsWith("#") && /^\s/.test(text.slice(end + 1)));
  }
  return !SPECIAL_START.test(text) && !text.includes(": ") && !text.endsWith(":");
}
