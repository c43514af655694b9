// The two formats a Prometheus scrape may ask for: the text exposition format 0.0.4 (the default)
// and OpenMetrics 1.0, chosen by the scrape's Accept header; both rendered from the same families.

/** A label set as name/value pairs, in the order the metric declared its label names. */
export type Labels = ReadonlyArray<readonly [string, string]>;

/** A counter or a gauge: one value per label set. A counter's name ends in `_total`. */
export interface ScalarFamily {
  readonly type: "counter" | "gauge";
  readonly name: string;
  readonly help: string;
  readonly series: ReadonlyArray<{ readonly labels: Labels; readonly value: number }>;
}

/** A histogram: per label set, cumulative counts for each upper bound (+Inf last), the sum and the count. */
export interface HistogramFamily {
  readonly type: "histogram";
  readonly name: string;
  readonly help: string;
  /** Upper bounds in increasing order, without +Inf. */
  readonly bounds: readonly number[];
  readonly series: ReadonlyArray<{ readonly labels: Labels; readonly cumulative: readonly number[]; readonly sum: number; readonly count: number }>;
}

/** One metric family as a scrape shows it. */
export type Family = ScalarFamily | HistogramFamily;

/** The Prometheus text format 0.0.4, or OpenMetrics 1.0. */
export type Format = "text" | "openmetrics";

/** The Content-Type each format is answered with. */
export const CONTENT_TYPES: Record<Format, string> = {
  text: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/**
 * The format for an Accept header, as Prometheus' own client libraries negotiate: the entries by
 * q (highest first, ties in the order given), and the first one this exporter speaks wins:
 * OpenMetrics 1.0.0 (or without a version), text 0.0.4 (or without a version), any type. No
 * header, or nothing acceptable: the text format, which every scraper reads.
 */
export function negotiate(accept: string | null): Format {
  if (!accept) return "text";
  const entries = accept.split(",").map((entry, order) => {
    const [type = "", ...params] = entry.split(";").map((s) => s.trim().toLowerCase());
    const param = (name: string) => params.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
    const q = Number(param("q") ?? "1");
    return { type, version: param("version"), q: Number.isFinite(q) ? q : 0, order };
  });
  entries.sort((a, b) => b.q - a.q || a.order - b.order);
  for (const { type, version, q } of entries) {
    if (q <= 0) continue;
    if (type === "application/openmetrics-text" && (version === undefined || version === "1.0.0")) return "openmetrics";
    if (type === "text/plain" && (version === undefined || version === "0.0.4")) return "text";
    if (type === "*/*" || type === "text/*") return "text";
  }
  return "text";
}

/** The families in the format asked for; OpenMetrics ends with `# EOF`. */
export function render(families: readonly Family[], format: Format): string {
  const om = format === "openmetrics";
  let out = "";
  for (const family of families) {
    // OpenMetrics names a counter's family without the `_total` its samples carry
    const familyName = om && family.type === "counter" ? family.name.slice(0, -"_total".length) : family.name;
    out += `# HELP ${familyName} ${escapeHelp(family.help, om)}\n# TYPE ${familyName} ${family.type}\n`;
    if (family.type === "histogram") {
      for (const s of family.series) {
        for (let i = 0; i <= family.bounds.length; i++) {
          const le = i < family.bounds.length ? formatBound(family.bounds[i]!, om) : "+Inf";
          out += `${family.name}_bucket${labelText([...s.labels, ["le", le]])} ${formatValue(s.cumulative[i]!)}\n`;
        }
        out += `${family.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}\n`;
        out += `${family.name}_count${labelText(s.labels)} ${formatValue(s.count)}\n`;
      }
    } else {
      for (const s of family.series) out += `${family.name}${labelText(s.labels)} ${formatValue(s.value)}\n`;
    }
  }
  return om ? `${out}# EOF\n` : out;
}

/** `{a="x",b="y"}`, or nothing for no labels. A label value escapes `\`, `"` and newline. */
function labelText(labels: Labels): string {
  if (labels.length === 0) return "";
  return `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** A label value as both formats write it between quotes. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : value;
}

/** HELP text escapes `\` and newline; OpenMetrics also escapes `"`. */
export function escapeHelp(help: string, om: boolean): string {
  const special = om ? /[\\"\n]/g : /[\\\n]/g;
  return help.replace(special, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** A sample value as Prometheus writes it: integers plainly, +Inf, -Inf, NaN. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** A bucket bound: OpenMetrics wants the canonical float form, so 1 is written 1.0 there. */
function formatBound(bound: number, om: boolean): string {
  const text = formatValue(bound);
  return om && Number.isInteger(bound) && !text.includes("e") ? `${text}.0` : text;
}
