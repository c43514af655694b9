// The checks an app definition must pass before anything runs: names a binary, a config section
// and an environment variable can carry, and no plugin taking another's or rodent's own section.
import * as v from "valibot";
import { OWN_SECTIONS } from "../config/schema";
import { RodentError } from "../errors";
import type { App } from "./types";

const NAME = /^[a-z][a-z0-9-]*$/;

/** A mistake in the app's own code (rodent(app), definePlugin): exit 1 with what to change. */
export class AppDefinitionError extends RodentError {}

/** Throws AppDefinitionError for the first problem found. */
export function checkApp(app: App): void {
  if (typeof app.name !== "string" || !NAME.test(app.name)) {
    throw new AppDefinitionError(`app name ${JSON.stringify(app.name)} is not lower-case [a-z][a-z0-9-]*: rename it in rodent({ name })`);
  }
  const seen = new Set<string>();
  for (const plugin of app.plugins) {
    const name = plugin?.name;
    if (typeof name !== "string" || !NAME.test(name)) throw new AppDefinitionError(`plugin name ${JSON.stringify(name)} is not lower-case [a-z][a-z0-9-]*: rename it in definePlugin({ name })`);
    if (seen.has(name)) throw new AppDefinitionError(`two plugins are named "${name}": give each a name of its own`);
    if (OWN_SECTIONS.includes(name)) throw new AppDefinitionError(`plugin "${name}" takes the name of rodent's own config section: rename it`);
    if (typeof plugin.start !== "function") throw new AppDefinitionError(`plugin "${name}" has no start function`);
    const schema = plugin.section?.schema as (v.GenericSchema & { type?: string }) | undefined;
    if (schema && schema.type !== "object" && schema.type !== "strict_object" && schema.type !== "loose_object") {
      throw new AppDefinitionError(`plugin "${name}": section.schema must be a valibot object schema (v.object({ ... }))`);
    }
    for (const key of plugin.section?.restart ?? []) {
      const entries = (schema as { entries?: Record<string, unknown> } | undefined)?.entries ?? {};
      if (!(key in entries)) throw new AppDefinitionError(`plugin "${name}": section.restart names "${key}", which its schema does not have`);
    }
    seen.add(name);
  }
}
