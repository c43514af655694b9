// The status record part: the live record beside the PID file, rewritten on every state change
// and reload and refreshed every health.interval as a heartbeat; removed before the PID file.
import { runtimeName } from "../http/adapter";
import { removeStatus, writeStatus } from "../instance/status";
import type { Scope } from "../kernel/scope";
import { program } from "../program";
import type { Part } from "./instance";

export function statusPart(): Part {
  let scope: Scope;
  let heartbeat: ReturnType<typeof setTimeout> | undefined;
  return {
    name: "status",
    start(own, instance) {
      scope = own;
      const { kernel, log, logger, pidPath } = instance;
      const startedAt = new Date().toISOString();
      const runtime = runtimeName();
      instance.publish = () => {
        if (!instance.lock?.stillHeld()) return;
        const error = writeStatus(pidPath, {
          pid: process.pid, state: kernel.state, version: program().version, runtime, startedAt,
          address: instance.address, logFile: logger.sink.path, configHash: instance.loaded.hash, generation: instance.generation,
          reload: instance.lastReload, handover: instance.lastHandover,
          logReopenError: logger.sink.reopenError,
          heartbeatMs: instance.loaded.config.health.interval, shutdownTimeoutMs: instance.loaded.config.server.shutdownTimeout,
        });
        if (error) log.warn(`cannot write the status record next to ${pidPath}: ${error.message}`, { event: "status-write-failed" });
      };
      kernel.onState((state) => {
        if (state !== "stopped") instance.publish();
      });
      if (instance.lock) scope.defer("status-file", () => removeStatus(pidPath), { critical: true });
      scope.defer("heartbeat", () => clearTimeout(heartbeat));
    },
    ready(instance) {
      // a successor holds the PID file only from its takeover on
      if (instance.predecessor !== undefined) scope.defer("status-file", () => removeStatus(instance.pidPath), { critical: true });
      // The record doubles as a heartbeat: refreshed every health.interval (read live). The first
      // beat is due one interval after ready: the state change to ready has just written it.
      const next = () => {
        heartbeat = setTimeout(beat, instance.loaded.config.health.interval);
        heartbeat.unref?.();
      };
      const beat = () => {
        instance.publish();
        next();
      };
      instance.kernel.onState((state, previous) => {
        if (state === "ready" && previous === "starting") next();
      });
    },
  };
}
