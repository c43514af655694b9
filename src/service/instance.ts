// A running instance as a short composition: rodent's own parts and the app's plugins, each in
// its own scope, started in order and closed in the one order CLOSE_ORDER lists.
import type { ConfigInput, LoadedConfig } from "../config/load";
import type { DaemonChannel } from "../daemon/channel";
import type { HttpSettings } from "../http/app";
import type { ServingListener } from "../http/listen";
import type { Lock } from "../instance/lock";
import type { HandoverOutcome, ReloadOutcome } from "../instance/status";
import type { Kernel } from "../kernel/kernel";
import type { Scope } from "../kernel/scope";
import type { Log, Logger } from "../log/logger";
import type { PluginHost } from "../plugin/host";
import type { Plugin } from "../plugin/types";
import type { InstanceMetrics } from "./metrics";

/**
 * The close order, first to last: the hand-over stops, the HTTP listener drains, the app's plugins
 * close newest first (their workers, then their cleanups), systemd hears the last word, the status
 * record goes, and the PID file goes last. Each part's scope is made from this list, so a part's
 * place in the start order never changes where it closes.
 */
export const CLOSE_ORDER = ["handover", "http", "plugins", "systemd", "status", "pid-file"] as const;

export type Slot = (typeof CLOSE_ORDER)[number];

/**
 * One of rodent's own parts: the same shape as a plugin, a name and a start in its own scope,
 * whose cleanups it defers where it acquires. `ready` runs, in start order, once every part
 * started and before the instance reports ready (a restart's successor takes over there).
 */
export interface Part {
  readonly name: Slot;
  start(scope: Scope, instance: Instance): void | Promise<void>;
  ready?(instance: Instance): void;
}

/** What the parts share: set up by serve, filled in by the parts as they start. */
export interface Instance {
  readonly kernel: Kernel;
  readonly logger: Logger;
  readonly log: Log;
  readonly input: ConfigInput;
  readonly plugins: readonly Plugin<any>[];
  /** The config in effect; a reload replaces it whole. */
  loaded: LoadedConfig;
  /** What the front door reads per request, compiled from `loaded`; a reload replaces it with it. */
  settings: HttpSettings;
  generation: number;
  readonly pidPath: string;
  /** The PID file, once this process holds it (a restart's successor takes it over when ready). */
  lock: Lock | undefined;
  /** A restart's successor: the instance it replaces. */
  readonly predecessor: number | undefined;
  readonly channel: DaemonChannel | undefined;
  address: string;
  listener: ServingListener | undefined;
  host: PluginHost | undefined;
  lastReload: ReloadOutcome | undefined;
  lastHandover: HandoverOutcome | undefined;
  /** The instance's own registry: rodent's metrics and its plugins'. */
  readonly metrics: InstanceMetrics;
  /** Rewrites the status record (a no-op until the status part started). */
  publish(): void;
}

/**
 * Starts `parts` in the order given, each in its slot's scope. The scopes are made up front in
 * reverse CLOSE_ORDER, so the root closes them (newest first) in CLOSE_ORDER.
 */
export async function compose(instance: Instance, parts: readonly Part[]): Promise<void> {
  const scopes = new Map<Slot, Scope>();
  for (const slot of [...CLOSE_ORDER].reverse()) scopes.set(slot, instance.kernel.root.child(slot));
  for (const part of parts) await part.start(scopes.get(part.name)!, instance);
  for (const part of parts) part.ready?.(instance);
}
