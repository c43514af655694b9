// The instance's metrics: one registry per instance holding rodent's own families (build, the
// lifecycle, the HTTP traffic, the log, the process), read live when a scrape asks, and the
// plugins' families after them. The names are the same in every app built on rodent.
import { COMMIT, VERSION } from "../build-info";
import { runtimeName } from "../http/adapter";
import type { State } from "../kernel/kernel";
import type { Family } from "../metrics/exposition";
import { processFamilies } from "../metrics/process";
import { MetricsRegistry } from "../metrics/registry";
import { RequestMetrics } from "../metrics/requests";
import { program } from "../program";
import type { Instance } from "./instance";

const STATES: readonly State[] = ["starting", "ready", "reloading", "draining", "stopped"];

/** What an instance counts and the registry that renders it; made by serve, one per instance. */
export class InstanceMetrics {
  readonly registry = new MetricsRegistry();
  /** Counted by the front door on every request that is not a probe or a scrape. */
  readonly requests = new RequestMetrics();
  /** Reloads by outcome, counted by the reload handler. */
  readonly reloads = { applied: 0, rejected: 0 };

  /** Registers rodent's own families, reading `instance` when a scrape asks; call once, before the plugins start. */
  collectOwn(instance: Instance): void {
    const { name, version } = program();
    const build: Family = {
      type: "gauge", name: "rodent_build_info", help: "Always 1: the app, its version, and the rodent version, commit and runtime it was built with.",
      series: [{ labels: [["app", name], ["app_version", version || VERSION], ["version", VERSION], ["commit", COMMIT], ["runtime", runtimeName()]], value: 1 }],
    };
    this.registry.collect(() => {
      const state = instance.kernel.state;
      const gauge = (name: string, help: string, value: number): Family => ({ type: "gauge", name, help, series: [{ labels: [], value }] });
      return [
        build,
        { type: "gauge", name: "rodent_state", help: "1 for the instance's current lifecycle state, 0 for the others.", series: STATES.map((s) => ({ labels: [["state", s]], value: s === state ? 1 : 0 })) },
        gauge("rodent_config_generation", "The generation of the config in effect: 1 at start-up, one more per applied reload.", instance.generation),
        {
          type: "counter", name: "rodent_reloads_total", help: "Reloads (SIGHUP or the reload command) by outcome: applied, or rejected with the running config kept.",
          series: [{ labels: [["result", "applied"]], value: this.reloads.applied }, { labels: [["result", "rejected"]], value: this.reloads.rejected }],
        },
        ...this.requests.families(),
        // the scrape being answered is one of the listener's requests: not counted
        gauge("rodent_http_requests_in_flight", "Requests being handled now (probes included, this scrape not).", Math.max(0, (instance.listener?.inFlight() ?? 1) - 1)),
        { type: "counter", name: "rodent_log_lines_dropped_total", help: "Log lines dropped because the log's reader or file did not keep up.", series: [{ labels: [], value: instance.logger.sink.droppedTotal }] },
        ...processFamilies(),
      ];
    });
  }
}
