// Reload is build-then-swap: the whole new config is loaded and validated first; only a valid one
// replaces the running one, in a single assignment, and keys that need a restart keep their values.
import { errorText } from "../kernel/kernel";
import { ConfigError, hashConfig, loadConfig, type ConfigInput, type LoadedConfig } from "./load";
import { configSchema, leafKeys, RESTART_KEYS } from "./schema";

export interface ReloadResult {
  applied: boolean;
  changed: string[];
  restartNeeded: string[];
  errors: string[];
  next: LoadedConfig | undefined;
}

/**
 * Loads `input` again (the file is re-read; env and flags are the start-up snapshot inside
 * `input`) and compares with `current`. Never throws: an invalid config comes back with every
 * problem in `errors` and applied false.
 */
export async function buildReload(current: LoadedConfig, input: ConfigInput): Promise<ReloadResult> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(input);
  } catch (error) {
    const errors = error instanceof ConfigError ? error.problems.map((p) => `${p.source}: ${p.key}: ${p.message}`) : [errorText(error)];
    return { applied: false, changed: [], restartNeeded: [], errors, next: undefined };
  }
  const changed: string[] = [];
  const restartNeeded: string[] = [];
  const effective = structuredClone(loaded.config) as unknown as Record<string, Record<string, unknown>>;
  const before = current.config as unknown as Record<string, Record<string, unknown>>;
  for (const key of leafKeys(configSchema(input.sections)).keys()) {
    const [section, name] = key.split(".") as [string, string | undefined];
    const old = name === undefined ? before[section] : before[section]?.[name];
    const now = name === undefined ? effective[section] : effective[section]?.[name];
    if (JSON.stringify(old) === JSON.stringify(now)) continue;
    if (RESTART_KEYS.includes(key)) {
      restartNeeded.push(key);
      // keep what is really in effect until the next restart
      if (name !== undefined) effective[section]![name] = old;
    } else {
      changed.push(key);
    }
  }
  const config = effective as unknown as LoadedConfig["config"];
  const next: LoadedConfig = { ...loaded, config, hash: hashConfig(config) };
  return { applied: true, changed, restartNeeded, errors: [], next };
}
