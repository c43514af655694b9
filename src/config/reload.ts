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

const GONE = "the file this instance was started from is gone (deleted or renamed?): put it back and reload, or restart rodent to use another";

/**
 * Builds the reload and hands a valid result to `apply`, which swaps it in and may throw before
 * it swaps anything. Never throws and always resolves with an outcome: whatever fails (an invalid
 * file, a value the schema passed but the instance cannot use, a bug) comes back applied false
 * with its error, so the status record always learns how the reload ended.
 */
export async function attemptReload(current: LoadedConfig, input: ConfigInput, apply: (result: ReloadResult & { next: LoadedConfig }) => void | Promise<void>): Promise<ReloadResult> {
  try {
    const result = await buildReload(current, input);
    if (result.applied && result.next) await apply(result as ReloadResult & { next: LoadedConfig });
    return result;
  } catch (error) {
    return { applied: false, changed: [], restartNeeded: [], errors: [`cannot apply the new config: ${errorText(error)}`], next: undefined };
  }
}

/**
 * Loads the config again and compares with `current`. An instance started from a file re-reads
 * that file, even one found without -c: when it is gone or unreadable the reload is rejected,
 * never a fall-back to another file or the defaults (one started without a file looks again).
 * Env and flags are the start-up snapshot inside `input`. An invalid config comes back with
 * every problem in `errors` and applied false.
 */
export async function buildReload(current: LoadedConfig, input: ConfigInput): Promise<ReloadResult> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig(current.file === undefined ? input : { ...input, file: current.file }, { missingFile: GONE });
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
    if (RESTART_KEYS.includes(key) || input.restartKeys?.some((k) => key === k || key.startsWith(`${k}.`))) {
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
