// What both YAML paths share (yaml.ts with the `yaml` package, yaml-simple.ts with Bun.YAML),
// kept apart so the fast path does not load the package.
import type { Problem } from "./load";

/** More mapping keys than this (at any depth) is not a rodent config: a real one has about 25. */
export const MAX_KEYS = 1000;

export interface ParsedYaml {
  value: unknown;
  problems: Problem[];
  /** The 1-based line of a key path as the loader flattens it ("server.port"), when the document has it. */
  lineOf(key: string): number | undefined;
}
