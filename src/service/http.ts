// The HTTP part: the app (rodent's routes, the plugins' once they started) behind the front door,
// on a listener whose drain is this part's cleanup; every request's signal fires at the deadline.
import { resolve } from "node:path";
import { BUILD_TIME, COMMIT, VERSION } from "../build-info";
import type { LoadedConfig } from "../config/load";
import { claimHandedOverListener } from "../daemon/channel";
import { runtimeName } from "../http/adapter";
import { createApp, type HttpSettings } from "../http/app";
import { startListener } from "../http/listen";
import { compileTrust } from "../http/trust";
import { signalFor } from "../kernel/signals";
import { program } from "../program";
import { inheritedListener } from "../systemd/activation";
import type { Instance, Part } from "./instance";
import { successor } from "./pid-file";

/** Requests' signals fire this long before the shutdown deadline, so their handlers can still answer. */
export const REQUEST_DEADLINE_NOTICE_MS = 100;

export function httpPart(): Part {
  return {
    name: "http",
    async start(scope, instance) {
      const { kernel, logger, host } = instance;
      const config = () => instance.loaded.config;
      const deadline = new AbortController();
      const app = createApp({
        // a reload swaps the settings in one reference; in-flight requests keep their snapshot
        settings: () => instance.settings,
        state: () => kernel.state,
        build: { version: VERSION, commit: COMMIT, buildTime: BUILD_TIME, runtime: runtimeName() },
        healthFields: () => ({ pid: process.pid, uptimeMs: kernel.uptimeMs, version: program().version, config: instance.loaded.hash, generation: instance.generation }),
        access: (record) => logger.access(record),
        error: (message, fields) => logger.tagged("http").error(message, fields),
        mounted: host?.mounted ?? Promise.resolve([]),
        notReady: () => (host?.asksReadiness ? host.notReady() : undefined),
        deadline: deadline.signal,
        metrics: { requests: instance.metrics.requests, scrape: (accept) => instance.metrics.registry.scrape(accept) },
      });
      const server = config().server;
      // A predecessor that cannot share its port (the Node bundle) passes its listening socket on.
      const handed = claimHandedOverListener(server.host, server.port, server.socket);
      const listener = await startListener(
        scope,
        {
          host: server.host, port: server.port, socket: server.socket && resolve(server.socket), socketMode: server.socketMode,
          fd: inheritedListener() ?? (typeof handed === "object" ? handed.fd : undefined),
          share: true,
          // a socket passed on for an address the config no longer names was closed: bind the new one
          join: instance.predecessor !== undefined && handed !== "elsewhere",
          idleTimeoutSec: Math.min(255, Math.max(1, Math.ceil(server.idleTimeout / 1000))),
          requestTimeoutMs: server.requestTimeout,
          fetch: app,
        },
        {
          delayMs: () => config().server.shutdownDelay,
          // The successor took the PID file over: keep-alive clients of this instance are handed
          // over without a connection closed under a request on its way (see startListener).
          handingOver: () => successor(instance.pidPath) !== undefined,
          log: (m, f) => logger.tagged("http").info(m, f),
        },
      );
      // Deferred after the drain, so it runs first and arms every request's signal for the deadline,
      // a moment early: a handler that stops then still answers, and the drain can end in time.
      scope.defer("request-deadline", ({ timeLeftMs }) => {
        if (timeLeftMs === Infinity) return;
        setTimeout(() => deadline.abort(new Error("shutdown deadline")), Math.max(0, timeLeftMs - REQUEST_DEADLINE_NOTICE_MS)).unref?.();
      });
      instance.listener = listener;
      instance.address = listener.address;
      instance.log.info(`listening on ${listener.address}`, { event: "listening", address: listener.address });
    },
    // A restart's successor that took the PID file over: move its unix socket into place and tell
    // the old instance to drain.
    ready(instance) {
      const { predecessor } = instance;
      if (predecessor === undefined) return;
      instance.listener?.promote();
      try {
        process.kill(predecessor, signalFor("stop"));
        instance.log.info(`took over from PID ${predecessor}; it is draining`, { event: "took-over", predecessor });
      } catch {
        // it died after the takeover's check: this instance holds the lock and serves all the same
        instance.log.warn(`took over from PID ${predecessor}, which had exited meanwhile`, { event: "took-over", predecessor });
      }
    },
  };
}

export function httpSettings(loaded: LoadedConfig): HttpSettings {
  const c = loaded.config;
  return {
    healthEndpoint: c.health.endpoint,
    metricsPath: c.metrics.enabled ? c.metrics.path : undefined,
    accessLog: c.logs.access,
    trusted: compileTrust(c.server.trustProxy),
    requestTimeoutMs: c.server.requestTimeout,
    bodyLimit: c.server.bodyLimit,
  };
}
