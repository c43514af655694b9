// The public API of the `rodent` package: build a service on rodent's lifecycle as one binary.
export { rodent } from "./rodent";
export { definePlugin } from "./plugin/define";
export { READY_CHECK_TIMEOUT_MS } from "./plugin/host";
export { duration, type DurationRange } from "./config/duration-schema";
export { formatDuration } from "./config/duration";
export { problem } from "./plugin/problem";
export { dataDir } from "./instance/paths";
export type {
  App, ConfigOf, Counter, Gauge, Histogram, InstanceView, MetricOptions, Plugin, PluginContext, PluginLog, PluginMetrics, PluginScope, RequestBindings, RodentEnv, Started, TraceContext,
} from "./plugin/types";
