import { describe, expect, test } from "bun:test";
import { escapeHelp, escapeLabelValue, negotiate, render } from "../../src/metrics/exposition";
import { MAX_SERIES, MetricsRegistry } from "../../src/metrics/registry";
import { RequestMetrics } from "../../src/metrics/requests";
import { parseExposition } from "../metrics-format";

describe("exposition", () => {
  test("Accept negotiation follows q, speaks OpenMetrics 1.0.0 and text 0.0.4, and falls back to text", () => {
    expect(negotiate(null)).toBe("text");
    expect(negotiate("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")).toBe("openmetrics");
    expect(negotiate("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5")).toBe("text");
    expect(negotiate("application/openmetrics-text; version=0.0.1, text/plain;q=0.2")).toBe("text");
    expect(negotiate("application/openmetrics-text;q=0")).toBe("text");
    expect(negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,application/openmetrics-text;version=1.0.0;q=0.6")).toBe("openmetrics");
  });

  test("label values escape backslash, quote and newline; HELP escapes quotes only in OpenMetrics", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp('say "hi" \\ now\nthen', false)).toBe('say "hi" \\\\ now\\nthen');
    expect(escapeHelp('say "hi"', true)).toBe('say \\"hi\\"');
  });

  test("a request's counts render in both formats and read back the same", () => {
    const metrics = new RequestMetrics();
    metrics.record("GET", 200, 10, 0.2);
    metrics.record("BREW", 418, null, 3);
    metrics.record("POST", 0, 5, 70_000);
    for (const format of ["text", "openmetrics"] as const) {
      const samples = parseExposition(render(metrics.families(), format), format);
      expect(samples.get('rodent_http_requests_total{method="GET",code="2xx"}')).toBe(1);
      expect(samples.get('rodent_http_requests_total{method="other",code="4xx"}')).toBe(1);
      expect(samples.get('rodent_http_requests_total{method="POST",code="0"}')).toBe(1);
      expect(samples.get(`rodent_http_request_duration_seconds_bucket{le="0.0005"}`)).toBe(1);
      expect(samples.get('rodent_http_request_duration_seconds_bucket{le="+Inf"}')).toBe(3);
      expect(samples.get(`rodent_http_request_duration_seconds_bucket{le="${format === "text" ? "60" : "60.0"}"}`)).toBe(2);
      expect(samples.get("rodent_http_response_body_bytes_total")).toBe(15);
    }
  });
});

describe("the registry", () => {
  test("two registries (two apps in one process) never see each other's metrics", () => {
    const a = new MetricsRegistry();
    const b = new MetricsRegistry();
    a.forPlugin("p", () => {}).counter({ name: "jobs_total", help: "Jobs." }).inc();
    b.forPlugin("p", () => {}).counter({ name: "jobs_total", help: "Jobs." });
    expect(a.scrape(null).body).toContain("jobs_total 1\n");
    expect(b.scrape(null).body).toContain("jobs_total 0\n");
  });

  test("names, labels and values are checked with the metric and the plugin named", () => {
    const metrics = new MetricsRegistry().forPlugin("p", () => {});
    expect(() => metrics.counter({ name: "jobs", help: "Jobs." })).toThrow('metric "jobs" of plugin "p": a counter\'s name ends in _total');
    expect(() => metrics.gauge({ name: "bad-name", help: "x" })).toThrow("must match");
    expect(() => metrics.gauge({ name: "a:b", help: "x" })).toThrow("recording rules");
    expect(() => metrics.gauge({ name: "depth", help: "x", labelNames: ["__x"] })).toThrow("label name");
    expect(() => metrics.histogram({ name: "lat_seconds", help: "x", labelNames: ["le"] })).toThrow("le");
    expect(() => metrics.histogram({ name: "lat_seconds", help: "x", buckets: [1, 1] })).toThrow("increasing");
    metrics.histogram({ name: "work_seconds", help: "x" });
    expect(() => metrics.gauge({ name: "work_seconds_count", help: "x" })).toThrow("registered twice");
    const c = metrics.counter({ name: "done_total", help: "x", labelNames: ["kind"] });
    expect(() => c.inc({ kind: "a" }, -1)).toThrow("only goes up");
    expect(() => (c.inc as (l: unknown) => void)({})).toThrow("label kind must be a string");
  });

  test("label sets that differ only in where a NUL falls are two series (values from requests cannot merge them)", () => {
    const registry = new MetricsRegistry();
    const c = registry.forPlugin("p", () => {}).counter({ name: "moves_total", help: "x", labelNames: ["from", "to"] });
    c.inc({ from: "a\u0000b", to: "c" });
    c.inc({ from: "a", to: "b\u0000c" }, 2);
    const body = registry.scrape(null).body;
    expect(body).toContain('moves_total{from="a\u0000b",to="c"} 1\n');
    expect(body).toContain('moves_total{from="a",to="b\u0000c"} 2\n');
  });

  test(`a metric past ${MAX_SERIES} label combinations drops new ones and warns once`, () => {
    const warned: string[] = [];
    const c = new MetricsRegistry().forPlugin("p", (m) => warned.push(m)).counter({ name: "hits_total", help: "x", labelNames: ["id"] });
    for (let i = 0; i < MAX_SERIES + 10; i++) c.inc({ id: String(i) });
    expect(warned).toHaveLength(1);
  });
});
