// GET /metrics on the compiled binary and the Node bundle: exact counts after known traffic, the
// histogram, in-flight, the lifecycle through drain and reloads, build and process metrics, the
// configurable path, OpenMetrics by Accept, plugins' own metrics, and promtool's verdict.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildApp } from "./kit-fixture";
import { expectOneLine, freePort, getJson, needTool, runRodent, startServer, tempDir, track, waitFor, type SpawnOptions } from "./helpers";
import { parseExposition, seriesOf, value, type Samples } from "./metrics-format";

const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const REQUESTS = "rodent_http_requests_total";
const DURATION = "rodent_http_request_duration_seconds";

async function scrape(url: string, path = "/metrics", accept?: string): Promise<{ samples: Samples; text: string; type: string }> {
  const response = await fetch(`${url}${path}`, { headers: accept ? { accept } : {} });
  expect(response.status).toBe(200);
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return { samples: parseExposition(text, type.startsWith("application/openmetrics-text") ? "openmetrics" : "text"), text, type };
}

const requests = (s: Samples, method: string, code: string) => value(s, `${REQUESTS}{method="${method}",code="${code}"}`);
const total = (s: Samples) => seriesOf(s, REQUESTS).reduce((sum, [, v]) => sum + v, 0);

/** promtool's verdict on a text exposition: exit 0 and nothing said, or the test fails with its words. */
function promtoolCheck(text: string): void {
  needTool("promtool");
  const run = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  expect(`${run.stdout}${run.stderr}`).toBe("");
  expect(run.exitCode).toBe(0);
}

let mapp: string | undefined;
/** The metrics fixture app (test/fixtures/metricsapp), built on first use. */
function metricsApp(options: SpawnOptions = {}): SpawnOptions {
  mapp ??= buildApp("test/fixtures/metricsapp/main.ts", "mapp", "mapp");
  const bin = mapp;
  return { ...options, wrap: (cmd) => (cmd[0] === "node" ? ["node", `${bin}.mjs`, ...cmd.slice(2)] : [bin, ...cmd.slice(1)]) };
}

describe.each(["bun", "node"] as const)("metrics on %s", (runtime) => {
  test("known traffic is counted exactly by method and status class; probes and scrapes are not", async () => {
    const s = await startServer(["--dev"], { runtime });
    const before = (await scrape(s.url)).samples;
    let bytes = 0;
    const hit = async (path: string, method = "GET", probe = false) => {
      const r = await fetch(`${s.url}${path}`, { method });
      await r.arrayBuffer();
      if (!probe) bytes += Number(r.headers.get("content-length") ?? 0);
      return r.status;
    };
    for (let i = 0; i < 3; i++) expect(await hit("/api/v1/rodent/version")).toBe(200);
    expect(await hit("/nowhere")).toBe(404);
    expect(await hit("/nowhere", "POST")).toBe(404);
    expect(await hit("/nowhere", "DELETE")).toBe(404);
    expect(await hit("/nowhere", "PROPFIND")).toBe(404);
    expect(await hit("/debug/error")).toBe(500);
    // probes and the scrape itself
    await hit("/health", "GET", true);
    await hit("/ready", "GET", true);
    await hit("/", "OPTIONS", true);
    await scrape(s.url);
    await fetch(`${s.url}/metrics`, { method: "HEAD" });
    // a response is counted once it went out: wait for the eighth (Node counts on 'finish')
    const after = (await waitFor(async () => {
      const now = (await scrape(s.url)).samples;
      return total(now) - total(before) >= 8 ? now : undefined;
    }, 10_000, "eight requests counted"))!;
    expect(total(after) - total(before)).toBe(8);
    expect(requests(after, "GET", "2xx") - requests(before, "GET", "2xx")).toBe(3);
    expect(requests(after, "GET", "4xx") - requests(before, "GET", "4xx")).toBe(1);
    expect(requests(after, "POST", "4xx") - requests(before, "POST", "4xx")).toBe(1);
    expect(requests(after, "DELETE", "4xx") - requests(before, "DELETE", "4xx")).toBe(1);
    expect(requests(after, "other", "4xx") - requests(before, "other", "4xx")).toBe(1);
    expect(requests(after, "GET", "5xx") - requests(before, "GET", "5xx")).toBe(1);
    expect(requests(after, "OPTIONS", "2xx")).toBe(0);
    expect(requests(after, "HEAD", "2xx")).toBe(0);
    // the histogram holds the same requests: cumulative buckets ending in +Inf = count
    const buckets = seriesOf(after, `${DURATION}_bucket`).map(([, v]) => v);
    expect(buckets.length).toBe(17);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(buckets.at(-1)).toBe(value(after, `${DURATION}_count`));
    expect(value(after, `${DURATION}_count`) - value(before, `${DURATION}_count`)).toBe(8);
    const sum = value(after, `${DURATION}_sum`) - value(before, `${DURATION}_sum`);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(8 * 5);
    expect(value(after, "rodent_http_response_body_bytes_total") - value(before, "rodent_http_response_body_bytes_total")).toBe(bytes);
  });

  test("a slow request is in flight while it is pending, and a client that leaves counts as code 0 (access log off)", async () => {
    // without the access log: the counting's own path (with it, the access line's verdict counts)
    const s = await startServer(["--dev"], { runtime, env: { RODENT_LOGS_ACCESS: "false" } });
    expect(value((await scrape(s.url)).samples, "rodent_http_requests_in_flight")).toBe(0);
    const leaving = new AbortController();
    const pending = fetch(`${s.url}/debug/sleep?ms=20000`, { signal: leaving.signal }).catch(() => "gone");
    await waitFor(async () => value((await scrape(s.url)).samples, "rodent_http_requests_in_flight") === 1, 10_000, "one request in flight");
    const before = (await scrape(s.url)).samples;
    leaving.abort();
    expect(await pending).toBe("gone");
    const after = (await waitFor(async () => {
      const now = (await scrape(s.url)).samples;
      return value(now, "rodent_http_requests_in_flight") === 0 && total(now) > total(before) ? now : undefined;
    }, 10_000, "the request over and counted"))!;
    expect(requests(after, "GET", "0")).toBe(1);
    expect(requests(after, "GET", "2xx")).toBe(0);
  });

  test("OpenMetrics when the scrape's Accept asks for it (Prometheus' own header), else the text format", async () => {
    const s = await startServer([], { runtime });
    await fetch(`${s.url}/api/v1/rodent/version`);
    const om = await scrape(s.url, "/metrics", PROMETHEUS_ACCEPT);
    expect(om.type).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    expect(om.text.endsWith("# EOF\n")).toBe(true);
    expect(om.text).toContain("# TYPE rodent_http_requests counter\n");
    expect(om.text).toContain("# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total ");
    expect(om.text).toContain(`${DURATION}_bucket{le="1.0"} `);
    for (const accept of [undefined, "text/plain;version=0.0.4", "*/*", "application/json"]) {
      const text = await scrape(s.url, "/metrics", accept);
      expect(text.type).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(text.text).not.toContain("# EOF");
      expect(text.text).toContain("# TYPE rodent_http_requests_total counter\n");
    }
    promtoolCheck((await scrape(s.url)).text);
    // HEAD answers the headers alone; other methods are refused with Allow
    const head = await fetch(`${s.url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBeGreaterThan(1000);
    expect(await head.text()).toBe("");
    const post = await fetch(`${s.url}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("metrics of the instance", () => {
  test("the state gauges show draining while the instance drains", async () => {
    const s = await startServer([], { env: { RODENT_SERVER_SHUTDOWNDELAY: "3s" } });
    const states = (samples: Samples) => Object.fromEntries(seriesOf(samples, "rodent_state").map(([key, v]) => [/state="(\w+)"/.exec(key)![1], v]));
    expect(states((await scrape(s.url)).samples)).toEqual({ starting: 0, ready: 1, reloading: 0, draining: 0, stopped: 0 });
    s.signal("SIGTERM");
    await waitFor(async () => states((await scrape(s.url)).samples).draining === 1, 2500, "state draining");
    expect(states((await scrape(s.url)).samples)).toEqual({ starting: 0, ready: 0, reloading: 0, draining: 1, stopped: 0 });
    expect(await s.exited()).toBe(0);
  });

  test("reloads applied and rejected are counted, and the generation follows the applied ones", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "health:\n  interval: 30s\n");
    const s = await startServer(["--config", file], { env: { HOME: dir } });
    const reloads = async () => {
      const m = (await scrape(s.url)).samples;
      return [value(m, 'rodent_reloads_total{result="applied"}'), value(m, 'rodent_reloads_total{result="rejected"}'), value(m, "rodent_config_generation")];
    };
    expect(await reloads()).toEqual([0, 0, 1]);
    writeFileSync(file, "health:\n  interval: 20s\n");
    s.signal("SIGHUP");
    await waitFor(async () => (await reloads())[0] === 1, 10_000, "one reload applied");
    expect(await reloads()).toEqual([1, 0, 2]);
    writeFileSync(file, "health:\n  interval: soon\n");
    s.signal("SIGHUP");
    await waitFor(async () => (await reloads())[1] === 1, 10_000, "one reload rejected");
    expect(await reloads()).toEqual([1, 1, 2]);
  });

  test("metrics.path moves on reload (the old path then 404s) and metrics.enabled false turns the endpoint off", async () => {
    const dir = tempDir();
    const file = join(dir, "rodent.yml");
    writeFileSync(file, "metrics:\n  path: /metrics\n");
    const s = await startServer(["--config", file], { env: { HOME: dir } });
    await scrape(s.url);
    writeFileSync(file, "metrics:\n  path: /internal/prometheus\n");
    s.signal("SIGHUP");
    await waitFor(async () => (await fetch(`${s.url}/internal/prometheus`)).status === 200, 10_000, "the new path answering");
    expect(value((await scrape(s.url, "/internal/prometheus")).samples, "rodent_config_generation")).toBe(2);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
    writeFileSync(file, "metrics:\n  enabled: false\n  path: /internal/prometheus\n");
    s.signal("SIGHUP");
    await waitFor(async () => (await fetch(`${s.url}/internal/prometheus`)).status === 404, 10_000, "the endpoint off");
  });

  test("a metrics.path on /health's, /ready, the version route or /debug is refused with one line naming the key", async () => {
    for (const [path, env] of [["/health", {}], ["/ready", {}], ["/api/v1/rodent/version", {}], ["/debug/x", {}], ["/up", { RODENT_HEALTH_ENDPOINT: "/up" }]] as const) {
      const run = await runRodent(["serve", "--port", "0"], { env: { RODENT_METRICS_PATH: path, ...env } });
      expect(run.code).toBe(1);
      expectOneLine(run.stderr);
      expect(run.stderr).toContain("RODENT_METRICS_PATH");
      expect(run.stderr).toContain("metrics.path");
      expect(run.stderr).toContain("expected a path other than");
    }
  });

  test("metrics.path / is refused: OPTIONS / is haproxy's default check, which rodent answers as readiness", async () => {
    const check = await runRodent(["config", "check"], { env: { RODENT_METRICS_PATH: "/" } });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain("metrics.path");
    expect(check.stderr).toContain("expected a path other than /");
    const run = await runRodent(["serve", "--port", "0"], { env: { RODENT_METRICS_PATH: "/" } });
    expect(run.code).toBe(1);
    expectOneLine(run.stderr);
    expect(run.stderr).toContain("RODENT_METRICS_PATH");
  });

  test("scrapes are not access-logged", async () => {
    const s = await startServer([]);
    for (let i = 0; i < 3; i++) await scrape(s.url);
    await fetch(`${s.url}/api/v1/rodent/version`, { headers: { "x-request-id": "after-the-scrapes" } });
    await s.waitForOutput(/after-the-scrapes/);
    const access = s.output().split("\n").filter((line) => line.includes('"tag":"access"'));
    expect(access.length).toBe(1);
    expect(s.output()).not.toContain('"path":"/metrics"');
  });

  test("build_info names the app, the versions, the commit and the runtime", async () => {
    const s = await startServer([]);
    const version = await getJson(`${s.url}/api/v1/rodent/version`);
    const m = (await scrape(s.url)).samples;
    const info = `rodent_build_info{app="rodent",app_version="${version.version}",version="${version.version}",commit="${version.commit}",runtime="${version.runtime}"}`;
    expect(value(m, info)).toBe(1);
    expect(seriesOf(m, "rodent_build_info").length).toBe(1);
  });

  test("process metrics are present and agree with /proc", async () => {
    const spawned = Date.now() / 1000;
    const s = await startServer([]);
    const m = (await scrape(s.url)).samples;
    expect(Math.abs(value(m, "process_start_time_seconds") - spawned)).toBeLessThan(5);
    const vmRss = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${s.pid}/status`, "utf8"))![1]) * 1024;
    expect(value(m, "process_resident_memory_bytes") / vmRss).toBeGreaterThan(0.7);
    expect(value(m, "process_resident_memory_bytes") / vmRss).toBeLessThan(1.3);
    expect(value(m, "process_virtual_memory_bytes")).toBeGreaterThan(value(m, "process_resident_memory_bytes"));
    expect(Math.abs(value(m, "process_open_fds") - readdirSync(`/proc/${s.pid}/fd`).length)).toBeLessThanOrEqual(3);
    const soft = /^Max open files\s+(\S+)/m.exec(readFileSync(`/proc/${s.pid}/limits`, "utf8"))![1]!;
    expect(value(m, "process_max_fds")).toBe(soft === "unlimited" ? Infinity : Number(soft));
    const cpu = value(m, "process_cpu_seconds_total");
    expect(cpu).toBeGreaterThan(0);
    for (let i = 0; i < 200; i++) await fetch(`${s.url}/api/v1/rodent/version`);
    expect(value((await scrape(s.url)).samples, "process_cpu_seconds_total")).toBeGreaterThan(cpu);
    expect(value(m, "rodent_log_lines_dropped_total")).toBe(0);
  });
});

describe("plugins' metrics (the kit)", () => {
  test("a plugin's counter, gauge and histogram are scraped beside rodent's, escaped, and pass promtool", async () => {
    const s = await startServer([], metricsApp());
    const post = (path: string, method = "POST") => fetch(`${s.url}${path}`, { method }).then((r) => expect(r.status).toBe(200));
    const zero = (await scrape(s.url)).samples;
    expect(value(zero, "tally_queue_depth")).toBe(0);
    expect(zero.has("tally_queue_depth")).toBe(true);
    await post("/tally/notes?kind=short");
    await post("/tally/notes?kind=short&n=2");
    await post(`/tally/notes?kind=${encodeURIComponent('a "quoted" \\ one\nover two lines')}`);
    await post("/tally/depth?n=7", "PUT");
    await post("/tally/depth/inc");
    await post("/tally/depth/dec");
    for (const seconds of [0.05, 0.5, 5, 50]) await post(`/tally/work?job=sweep&s=${seconds}`);
    const { samples: m, text } = await scrape(s.url);
    expect(value(m, 'tally_notes_created_total{kind="short"}')).toBe(3);
    expect(value(m, 'tally_notes_created_total{kind="a \\"quoted\\" \\\\ one\\nover two lines"}')).toBe(1);
    expect(value(m, "tally_queue_depth")).toBe(6);
    expect(text).toContain('# HELP tally_queue_depth Items waiting in the "queue" \\\\ backslash\\nsecond line.\n');
    expect(seriesOf(m, "tally_work_seconds_bucket")).toEqual([
      ['tally_work_seconds_bucket{job="sweep",le="0.1"}', 1],
      ['tally_work_seconds_bucket{job="sweep",le="1"}', 2],
      ['tally_work_seconds_bucket{job="sweep",le="10"}', 3],
      ['tally_work_seconds_bucket{job="sweep",le="+Inf"}', 4],
    ]);
    expect(value(m, 'tally_work_seconds_count{job="sweep"}')).toBe(4);
    expect(value(m, 'tally_work_seconds_sum{job="sweep"}')).toBeCloseTo(55.55, 6);
    // rodent's own names are the same in an app built on it, with the app in build_info
    expect(seriesOf(m, "rodent_build_info")[0]![0]).toContain('app="mapp",app_version="3.1.4"');
    expect(requests(m, "POST", "2xx")).toBe(9);
    expect(requests(m, "PUT", "2xx")).toBe(1);
    promtoolCheck(text);
    const om = await scrape(s.url, "/metrics", PROMETHEUS_ACCEPT);
    expect(om.text).toContain('# HELP tally_queue_depth Items waiting in the \\"queue\\" \\\\ backslash\\nsecond line.\n');
    expect(om.text).toContain("# TYPE tally_notes_created counter\n");
  });

  test("a metric registered twice, or under rodent's own prefix, or under another plugin's name fails the start with one line", async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ MAPP_TALLY_REGISTER: "twice" }, 'plugin "tally" failed to start: metric "tally_notes_created_total" of plugin "tally": it is registered twice'],
      [{ MAPP_TALLY_REGISTER: "rodent" }, 'plugin "tally" failed to start: metric "rodent_state" of plugin "tally": names starting with rodent_ or process_ are rodent\'s own'],
      [{ MAPP_OTHER_TAKENAME: "true" }, 'plugin "other" failed to start: metric "tally_queue_depth" of plugin "other": the name is taken by a metric of plugin "tally"'],
    ];
    for (const [env, message] of cases) {
      const run = await runRodent(["serve", "--port", "0"], metricsApp({ env }));
      expect(run.code).toBe(1);
      expectOneLine(run.stderr);
      expect(run.stderr).toContain(message);
    }
  });
});

describe("a real Prometheus server scraping rodent", () => {
  test("both runtimes are scraped up in the format Prometheus negotiates, and what they count is what it stores", async () => {
    needTool("prometheus");
    const bun = await startServer([], metricsApp());
    const node = await startServer([], metricsApp({ runtime: "node" }));
    const dir = tempDir();
    const port = await freePort();
    const targets = [bun, node].map((s) => `"127.0.0.1:${s.port}"`).join(", ");
    writeFileSync(join(dir, "prometheus.yml"), `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: rodent\n    static_configs: [{ targets: [${targets}] }]\n`);
    const prometheus = Bun.spawn(["prometheus", `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    track(prometheus.pid);
    let log = "";
    const pumped = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of prometheus.stderr) log += decoder.decode(chunk, { stream: true });
    })();
    const api = async (path: string) => (await getJson(`http://127.0.0.1:${port}/api/v1/${path}`)).data;
    const query = async (promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> =>
      (await api(`query?query=${encodeURIComponent(promql)}`)).result;
    try {
      const escaped = 'a "quoted" \\ one\nover two lines';
      for (const s of [bun, node]) {
        for (const kind of ["short", "short", escaped]) expect((await fetch(`${s.url}/tally/notes?kind=${encodeURIComponent(kind)}`, { method: "POST" })).status).toBe(200);
        expect((await fetch(`${s.url}/nowhere`)).status).toBe(404);
      }
      const active = await waitFor(async () => {
        try {
          const list: Array<{ health: string; lastError: string; scrapeUrl: string }> = (await api("targets")).activeTargets;
          return list.length === 2 && list.every((t) => t.health !== "unknown") ? list : undefined;
        } catch {
          return undefined;
        }
      }, 20_000, () => `two targets scraped; prometheus said:\n${log}`);
      expect(active!.map(({ health, lastError }) => ({ health, lastError }))).toEqual([{ health: "up", lastError: "" }, { health: "up", lastError: "" }]);
      for (const s of [bun, node]) {
        const instance = `instance="127.0.0.1:${s.port}"`;
        // the counts Prometheus stored are the requests sent, the plugin's escaped label intact
        const posted = await waitFor(async () => (await query(`rodent_http_requests_total{${instance},method="POST",code="2xx"}`))[0]?.value[1], 15_000, "the POSTs stored");
        expect(posted).toBe("3");
        expect((await query(`rodent_http_requests_total{${instance},method="GET",code="4xx"}`))[0]?.value[1]).toBe("1");
        expect((await query(`rodent_http_request_duration_seconds_count{${instance}}`))[0]?.value[1]).toBe("4");
        expect((await query(`count(rodent_http_request_duration_seconds_bucket{${instance}})`))[0]?.value[1]).toBe("17");
        const notes = await query(`tally_notes_created_total{${instance}}`);
        expect(Object.fromEntries(notes.map((n) => [n.metric.kind, n.value[1]]))).toEqual({ short: "2", [escaped]: "1" });
        expect((await query(`up{${instance}}`))[0]?.value[1]).toBe("1");
      }
      // Prometheus asks for OpenMetrics first: its metadata names counter families without _total
      const metadata = await api("metadata");
      expect(metadata.rodent_http_requests?.[0]?.type).toBe("counter");
      expect(metadata.rodent_http_request_duration_seconds?.[0]?.type).toBe("histogram");
      // nothing the scrapes sent was rejected or dropped
      const own = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const rejected of ["prometheus_target_scrapes_sample_out_of_order_total", "prometheus_target_scrapes_sample_duplicate_timestamp_total", "prometheus_target_scrapes_sample_out_of_bounds_total"]) {
        expect(own).toMatch(new RegExp(`^${rejected} 0$`, "m"));
      }
    } finally {
      prometheus.kill("SIGTERM");
      await prometheus.exited;
      await pumped;
    }
    // its one warning is about the SIGTERM it was sent; no scrape may have made it complain
    expect(log.split("\n").filter((line) => /level=(error|warn)/.test(line) && !line.includes("Received SIGTERM"))).toEqual([]);
  });
});
