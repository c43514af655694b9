// One instance's metrics: rodent's own families (read live when a scrape asks) and those its
// plugins register through ctx.metrics. One registry per instance, never a global one.
import { RodentError } from "../errors";
import type { Counter, Gauge, Histogram, MetricOptions, PluginMetrics } from "../plugin/types";
import { CONTENT_TYPES, negotiate, render, type Family, type Labels } from "./exposition";
import { DURATION_BUCKETS } from "./requests";

/** A metric a plugin cannot register as asked; the message names the metric and what to change. */
export class MetricDefinitionError extends RodentError {}

/** Past this many label combinations a plugin's metric drops new ones (memory and scrape size stay bounded). */
export const MAX_SERIES = 1000;

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Prefixes of rodent's own families, in every app built on it, so one dashboard fits them all. */
const RESERVED = ["rodent_", "process_"];

interface Series {
  labels: Labels;
  value: number;
  /** Histograms: per-bucket (not cumulative) counts, +Inf last. */
  buckets?: Float64Array;
}

/** One instance's registry: what a scrape renders, in the order it was added. */
export class MetricsRegistry {
  private readonly sources: Array<() => Family[]> = [];
  /** Every name a registered metric exposes (family and sample names), and who registered it. */
  private readonly taken = new Map<string, string>();

  /** Adds families computed when a scrape asks (rodent's own), in scrape order. */
  collect(source: () => Family[]): void {
    this.sources.push(source);
  }

  /** The exposition for a scrape's Accept header: its content type and body. */
  scrape(accept: string | null): { contentType: string; body: string } {
    const format = negotiate(accept);
    return { contentType: CONTENT_TYPES[format], body: render(this.sources.flatMap((source) => source()), format) };
  }

  /** What `plugin` finds as ctx.metrics; `warn` reports a metric that hit MAX_SERIES, once per metric. */
  forPlugin(plugin: string, warn: (message: string) => void): PluginMetrics {
    const define = <L extends string>(type: Family["type"], options: MetricOptions<L>, bounds?: readonly number[]) => {
      const metric = this.define(plugin, type, options, bounds);
      this.sources.push(() => [metric.family()]);
      return metric.series((name) => warn(`metric ${name} has ${MAX_SERIES} label combinations; new ones are dropped: use labels with fewer values`));
    };
    return {
      counter: (options) => {
        const series = define("counter", options);
        return { inc: (...args: unknown[]) => series(args, "optional", (s, n) => (s.value += nonNegative(options.name, n ?? 1))) } as Counter<any>;
      },
      gauge: (options) => {
        const series = define("gauge", options);
        return {
          set: (...args: unknown[]) => series(args, "required", (s, n) => (s.value = n!)),
          inc: (...args: unknown[]) => series(args, "optional", (s, n) => (s.value += n ?? 1)),
          dec: (...args: unknown[]) => series(args, "optional", (s, n) => (s.value -= n ?? 1)),
        } as Gauge<any>;
      },
      histogram: (options) => {
        const bounds = checkBuckets(plugin, options.name, options.buckets ?? DURATION_BUCKETS);
        const series = define("histogram", options, bounds);
        return {
          observe: (...args: unknown[]) =>
            series(args, "required", (s, v) => {
              if (Number.isNaN(v)) throw new RangeError(`metric ${options.name}: cannot observe NaN`);
              s.value += v!;
              let i = 0;
              while (i < bounds.length && v! > bounds[i]!) i++;
              s.buckets![i]!++;
            }),
        } as Histogram<any>;
      },
    };
  }

  /** Checks a plugin's metric and reserves its names; throws MetricDefinitionError naming both. */
  private define<L extends string>(plugin: string, type: Family["type"], options: MetricOptions<L>, bounds?: readonly number[]) {
    const { name, help } = options ?? ({} as MetricOptions<L>);
    const fail = (why: string) => {
      throw new MetricDefinitionError(`metric ${JSON.stringify(name)} of plugin "${plugin}": ${why}`);
    };
    if (typeof name !== "string" || !NAME.test(name)) fail("the name must match [a-zA-Z_][a-zA-Z0-9_]* (colons are for recording rules)");
    if (RESERVED.some((prefix) => name.startsWith(prefix))) fail(`names starting with ${RESERVED.join(" or ")} are rodent's own: choose a prefix of your app's`);
    if (type === "counter" && !name.endsWith("_total")) fail("a counter's name ends in _total");
    if (type !== "counter" && name.endsWith("_total")) fail(`only a counter's name ends in _total (this is a ${type})`);
    if (typeof help !== "string" || help.trim() === "") fail("help must say what it measures");
    const labelNames = [...(options.labelNames ?? [])] as string[];
    for (const label of labelNames) {
      if (typeof label !== "string" || !LABEL.test(label) || label.startsWith("__")) fail(`label name ${JSON.stringify(label)} must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __`);
      if (type === "histogram" && label === "le") fail("a histogram cannot have a label named le (its buckets use it)");
    }
    if (new Set(labelNames).size !== labelNames.length) fail("a label name is listed twice");
    const exposed = type === "counter" ? [name, name.slice(0, -"_total".length)] : type === "histogram" ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    for (const n of exposed) {
      const owner = this.taken.get(n);
      if (owner) fail(owner === plugin ? "it is registered twice: register it once and keep the object" : `the name is taken by a metric of plugin "${owner}"`);
    }
    for (const n of exposed) this.taken.set(n, plugin);
    return new Metric(type, name, help, labelNames, bounds);
  }
}

/** One plugin metric's series, keyed by their label values. */
class Metric {
  private readonly all = new Map<string, Series>();
  private warned = false;

  constructor(
    private readonly type: Family["type"],
    private readonly name: string,
    private readonly help: string,
    private readonly labelNames: string[],
    private readonly bounds: readonly number[] | undefined,
  ) {
    // a metric without labels is exposed (at 0) from the start, so rate() sees its first increase
    if (labelNames.length === 0) this.all.set("", this.fresh([]));
  }

  /** The update function: finds (or makes) the series the arguments name and applies `apply`. */
  series(onFull: (name: string) => void) {
    return (args: unknown[], value: "optional" | "required", apply: (s: Series, n: number | undefined) => void): void => {
      const labeled = this.labelNames.length > 0;
      const n = (labeled ? args[1] : args[0]) as number | undefined;
      if (n !== undefined && typeof n !== "number") throw new TypeError(`metric ${this.name}: the value must be a number${labeled ? ", after the labels" : ""}`);
      if (n === undefined && value === "required") throw new TypeError(`metric ${this.name}: a value is required`);
      const values = labeled ? this.values(args[0]) : [];
      // one value is its own key; several are joined unambiguously (a value may hold any separator)
      const key = values.length < 2 ? (values[0] ?? "") : JSON.stringify(values);
      let s = this.all.get(key);
      if (!s) {
        if (this.all.size >= MAX_SERIES) {
          if (!this.warned) onFull(this.name);
          this.warned = true;
          return;
        }
        this.all.set(key, (s = this.fresh(this.labelNames.map((label, i) => [label, values[i]!] as const))));
      }
      apply(s, n);
    };
  }

  family(): Family {
    const list = [...this.all.values()];
    if (this.type !== "histogram") return { type: this.type, name: this.name, help: this.help, series: list.map(({ labels, value }) => ({ labels, value })) };
    return {
      type: "histogram", name: this.name, help: this.help, bounds: this.bounds!,
      series: list.map(({ labels, value, buckets }) => {
        let count = 0;
        const cumulative = [...buckets!].map((b) => (count += b));
        return { labels, cumulative, sum: value, count };
      }),
    };
  }

  private fresh(labels: Labels): Series {
    return { labels, value: 0, buckets: this.type === "histogram" ? new Float64Array(this.bounds!.length + 1) : undefined };
  }

  /** The label values in declared order; throws when one is missing or not a string. */
  private values(labels: unknown): string[] {
    if (typeof labels !== "object" || labels === null) throw new TypeError(`metric ${this.name}: pass the labels { ${this.labelNames.join(", ")} } first`);
    return this.labelNames.map((label) => {
      const value = (labels as Record<string, unknown>)[label];
      if (typeof value !== "string") throw new TypeError(`metric ${this.name}: label ${label} must be a string`);
      return value;
    });
  }
}

function nonNegative(name: string, n: number): number {
  if (!(n >= 0) || n === Infinity) throw new RangeError(`metric ${name}: a counter only goes up by a finite amount (got ${n})`);
  return n;
}

function checkBuckets(plugin: string, name: string, buckets: readonly number[]): readonly number[] {
  const ok = Array.isArray(buckets) && buckets.length > 0 && buckets.every((b, i) => Number.isFinite(b) && (i === 0 || b > buckets[i - 1]!));
  if (!ok) throw new MetricDefinitionError(`metric ${JSON.stringify(name)} of plugin "${plugin}": buckets must be finite numbers in increasing order`);
  return [...buckets];
}
