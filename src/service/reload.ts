// Reload for the whole instance: every section (rodent's and the plugins') is validated first, the
// plugins' reload hooks may still refuse, and only then is the config swapped in one assignment.
import { attemptReload, type ReloadResult } from "../config/reload";
import { httpSettings } from "./http";
import type { Instance } from "./instance";

/** Makes SIGHUP (and `reload`) reload the config; the outcome lands in the status record. */
export function acceptReloads(instance: Instance): void {
  const { kernel, log } = instance;
  kernel.onReload(async () => {
    const previous = instance.loaded;
    const result = await attempt(instance);
    const seq = (instance.lastReload?.seq ?? 0) + 1;
    const at = new Date().toISOString();
    instance.metrics.reloads[result.applied ? "applied" : "rejected"]++;
    if (!result.applied) {
      instance.lastReload = { seq, applied: false, at, errors: result.errors };
      log.error(`reload rejected; the running config (${previous.hash}) stays:\n  ${result.errors.join("\n  ")}`, { event: "reload-rejected", errors: result.errors });
    } else {
      const next = instance.loaded;
      instance.lastReload = { seq, applied: true, at, changed: result.changed, restartNeeded: result.restartNeeded };
      log.info(`reload applied: config ${next.hash} (generation ${instance.generation})${result.changed.length ? `, changed ${result.changed.join(", ")}` : ", nothing changed"}`, {
        event: "reload-applied", config: next.hash, generation: instance.generation, changed: result.changed,
      });
      if (result.restartNeeded.length) {
        log.warn(`changed keys take effect on the next restart: ${result.restartNeeded.join(", ")}`, { event: "reload-restart-needed", keys: result.restartNeeded });
      }
    }
    instance.publish();
  });
}

/**
 * Builds the new config, asks the plugins' reload hooks, and swaps. Never throws: a config that
 * does not validate, a hook that refuses, or anything else that fails before the swap comes back
 * applied false with its error, and the running config stays whole.
 */
function attempt(instance: Instance): Promise<ReloadResult> {
  const previous = instance.loaded;
  return attemptReload(previous, instance.input, async ({ next }) => {
    // build everything that can throw first, then swap
    const settings = httpSettings(next);
    const refused = instance.host ? await instance.host.reload(next.config, previous.config) : undefined;
    if (refused) throw new Error(refused);
    instance.logger.apply({ level: next.config.server.logLevel, format: next.config.logs.format });
    instance.kernel.setShutdownTimeout(next.config.server.shutdownTimeout);
    instance.settings = settings;
    instance.loaded = next;
    instance.generation++;
  });
}
