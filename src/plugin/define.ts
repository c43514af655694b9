// definePlugin: the identity function that lets a section's schema type the plugin's config.
import type * as v from "valibot";
import type { Plugin } from "./types";

/**
 * Declares a plugin. Returns it unchanged: no registry, so two apps in one process never see each
 * other's plugins. The section's schema types ctx.config() and reload(next, previous).
 */
export function definePlugin<S extends v.GenericSchema = v.GenericSchema<undefined>>(plugin: Plugin<S>): Plugin<S> {
  return plugin;
}
