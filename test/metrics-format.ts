// Reading a scrape the way a Prometheus server does, strictly: every line a HELP, a TYPE or a
// sample of the family typed last; label values with only the escapes the formats allow; for
// OpenMetrics also the family rules (counter families without _total, canonical le, # EOF last).
// promtool checks the text format; OpenMetrics has no checker in Debian, so this is it.

/** Samples by their series as written (`name{a="x",b="y"}`), values as numbers. */
export type Samples = Map<string, number>;

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})? (\S+)$/;
const META = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/;
const NUMBER = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)$/;

/** Parses `text` in `format`; throws naming the first line that breaks a rule. */
export function parseExposition(text: string, format: "text" | "openmetrics"): Samples {
  const om = format === "openmetrics";
  const samples: Samples = new Map();
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new Error("the exposition does not end with a newline");
  if (om && lines.pop() !== "# EOF") throw new Error("OpenMetrics: the last line is not # EOF");
  const families = new Set<string>();
  let family: { name: string; type: string; help: boolean } | undefined;
  let lastLe = -Infinity;
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1} (${JSON.stringify(line)}): ${why}`);
    };
    const meta = META.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === "HELP") {
        if (family?.name === name) fail("a second HELP for the family");
        if (families.has(name)) fail("the family appears twice");
        if (/\\[^\\n"]|\\$/.test(rest.replace(/\\\\/g, "")) || (!om && /\\"/.test(rest))) fail("HELP has an escape the format does not allow");
        families.add(name);
        family = { name, type: "", help: true };
      } else {
        if (family?.name !== name) fail("TYPE without its HELP just before");
        if (!["counter", "gauge", "histogram"].includes(rest)) fail(`unexpected type ${rest}`);
        if (om && rest === "counter" && name.endsWith("_total")) fail("an OpenMetrics counter family is named without _total");
        family!.type = rest;
      }
      return;
    }
    if (line.startsWith("#")) fail(om ? "OpenMetrics allows no other comment" : "an unexpected comment");
    const sample = SAMPLE.exec(line);
    if (!sample) fail("not a sample line");
    const [, name, labels = "", value] = sample as unknown as [string, string, string | undefined, string];
    if (!NUMBER.test(value)) fail(`value ${value} is not a number`);
    if (!family || !family.type) fail("a sample before its family's TYPE");
    const allowed: Record<string, string[]> = {
      counter: om ? [`${family!.name}_total`] : [family!.name],
      gauge: [family!.name],
      histogram: [`${family!.name}_bucket`, `${family!.name}_sum`, `${family!.name}_count`],
    };
    if (!allowed[family!.type]!.includes(name)) fail(`sample ${name} does not belong to ${family!.type} ${family!.name}`);
    if (!om && family!.type === "counter" && !name.endsWith("_total")) fail("a counter's name ends in _total");
    if (name.endsWith("_bucket")) {
      const le = /le="([^"]*)"/.exec(labels)?.[1];
      if (le === undefined) fail("a bucket without le");
      if (om && le !== "+Inf" && !/^-?\d+\.\d+(?:e[+-]?\d+)?$|^-?\d+e[+-]?\d+$/.test(le!)) fail(`le="${le}" is not in canonical float form`);
      const bound = le === "+Inf" ? Infinity : Number(le);
      if (!(bound > lastLe)) fail("le values are not increasing");
      lastLe = bound === Infinity ? -Infinity : bound;
    }
    const key = `${name}${labels}`;
    if (samples.has(key)) fail("the series appears twice");
    samples.set(key, value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : Number(value));
  });
  return samples;
}

/** The value of one series, or 0 when it is not (yet) exposed. */
export function value(samples: Samples, series: string): number {
  return samples.get(series) ?? 0;
}

/** Every series of `name` with its labels text, e.g. for buckets. */
export function seriesOf(samples: Samples, name: string): Array<[string, number]> {
  return [...samples].filter(([key]) => key === name || key.startsWith(`${name}{`));
}
