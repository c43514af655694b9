// Reload for the whole instance: every section (rodent's and the plugins') is validated first, the
// plugins' reload hooks may still refuse, and only then is the config swapped in one assignment.
import { buildReload } from "../config/reload";
import type { Instance } from "./instance";

/** Makes SIGHUP (and `reload`) reload the config; the outcome lands in the status record. */
export function acceptReloads(instance: Instance): void {
  const { kernel, log, logger } = instance;
  kernel.onReload(async () => {
    const previous = instance.loaded;
    const result = await buildReload(previous, instance.input);
    const refused = result.next && instance.host ? await instance.host.reload(result.next.config, previous.config) : undefined;
    const seq = (instance.lastReload?.seq ?? 0) + 1;
    const at = new Date().toISOString();
    if (!result.next || refused) {
      const errors = refused ? [refused] : result.errors;
      instance.lastReload = { seq, applied: false, at, errors };
      log.error(`reload rejected; the running config (${previous.hash}) stays:\n  ${errors.join("\n  ")}`, { event: "reload-rejected", errors });
    } else {
      const next = result.next;
      logger.apply({ level: next.config.server.logLevel, format: next.config.logs.format });
      kernel.setShutdownTimeout(next.config.server.shutdownTimeout);
      instance.loaded = next;
      instance.generation++;
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
