// Runs an app's plugins inside the instance: one scope each (closed newest first, each at its own
// turn after the HTTP drain), their workers, readiness checks and marks, and their reload hooks.
import type { Hono } from "hono";
import { RodentError } from "../errors";
import { errorText } from "../kernel/kernel";
import type { Scope } from "../kernel/scope";
import type { InstanceView, Plugin, PluginContext, PluginLog, PluginMetrics, Started } from "./types";

/** A readiness check that has not answered within this long counts as failed. */
export const READY_CHECK_TIMEOUT_MS = 1000;

export class PluginStartError extends RodentError {
  constructor(readonly plugin: string, error: unknown) {
    super(`plugin "${plugin}" failed to start: ${errorText(error)}`);
  }
}

export interface HostOptions {
  plugins: readonly Plugin<any>[];
  app: { name: string; version: string; development: boolean };
  log(tag: string): PluginLog;
  /** The live config, every section by its top-level key. */
  config(): Record<string, unknown>;
  instance: InstanceView;
  /** The plugin's view of the instance's metrics registry (ctx.metrics). */
  metrics(plugin: string): PluginMetrics;
  /** True once the shutdown began: a worker failing then is reported at its turn instead. */
  stopping(): boolean;
  /** Starts a graceful shutdown that exits 1. */
  fail(reason: string): void;
}

/** One failing part of readiness: the plugin and why. */
export interface NotReady {
  plugin: string;
  reason: string;
}

interface Running {
  plugin: Plugin<any>;
  started: Started<any>;
}

export class PluginHost {
  private readonly running: Running[] = [];
  private readonly marks = new Map<string, string>();
  private routesReady!: (apps: Array<Hono<any, any, any>>) => void;
  /** The plugins' Hono apps in start order, once every plugin started; never if one fails. */
  readonly mounted = new Promise<Array<Hono<any, any, any>>>((resolve) => (this.routesReady = resolve));

  constructor(private readonly options: HostOptions) {}

  /**
   * Starts every plugin in order, each in a child of `parent` and awaited before the next. The
   * first that throws stops the start with a PluginStartError; what the plugins acquired stays in
   * their scopes, for the caller to close. `parent` closes them newest first.
   */
  async start(parent: Scope): Promise<void> {
    for (const plugin of this.options.plugins) {
      const scope = parent.child(plugin.name, { ownTurn: true });
      let started: void | Started<any>;
      try {
        started = await plugin.start(this.context(plugin, scope));
      } catch (error) {
        throw new PluginStartError(plugin.name, error);
      }
      this.running.push({ plugin, started: started ?? {} });
    }
    this.routesReady(this.running.flatMap((r) => (r.started.routes ? [r.started.routes] : [])));
  }

  /** Whether /ready has anything of the plugins' to ask. */
  get asksReadiness(): boolean {
    return this.marks.size > 0 || this.running.some((r) => r.started.ready);
  }

  /** Every mark and failing check, the checks run at once and bounded by READY_CHECK_TIMEOUT_MS. */
  async notReady(): Promise<NotReady[]> {
    const marked = [...this.marks].map(([plugin, reason]) => ({ plugin, reason }));
    const checks = this.running.filter((r) => r.started.ready && !this.marks.has(r.plugin.name));
    const failed = await Promise.all(checks.map((r) => check(r.plugin.name, () => r.started.ready!())));
    return [...marked, ...failed.filter((f): f is NotReady => f !== undefined)];
  }

  /**
   * Offers validated sections to every reload hook, in start order. When one throws, those that
   * ran are called again with (previous, next) and its error comes back; undefined means applied.
   */
  async reload(next: Record<string, unknown>, previous: Record<string, unknown>): Promise<string | undefined> {
    const done: Running[] = [];
    for (const r of this.running) {
      if (!r.started.reload) continue;
      const name = r.plugin.name;
      try {
        await r.started.reload(next[name], previous[name]);
        done.push(r);
      } catch (error) {
        for (const back of done.reverse()) {
          await Promise.resolve()
            .then(() => back.started.reload!(previous[back.plugin.name], next[back.plugin.name]))
            .catch((e) => this.options.log(back.plugin.name).error(`reload roll-back failed: ${errorText(e)}`, { event: "reload-rollback-failed" }));
        }
        return `plugin "${name}" rejected the reload: ${errorText(error)}`;
      }
    }
    return undefined;
  }

  private context(plugin: Plugin<any>, scope: Scope): PluginContext<any> {
    const { options } = this;
    const log = options.log(plugin.name);
    // named after the plugin: a worker that overruns the deadline is reported as "<plugin> workers/worker <name>"
    const workers = scope.child(`${plugin.name} workers`);
    return {
      scope: { defer: (name, cleanup) => scope.defer(name, cleanup), signal: scope.signal },
      signal: scope.signal,
      run: (name, worker) => {
        let failure: unknown;
        const ended = Promise.resolve()
          .then(() => worker(scope.signal))
          .then(
            () => log.debug(`worker ${name} ended`, { event: "worker-ended", worker: name }),
            (error) => {
              if (scope.signal.aborted && isAbort(error, scope.signal)) return;
              if (options.stopping()) {
                failure = error;
                return;
              }
              log.error(`worker ${name} failed: ${errorText(error)}`, { event: "worker-failed", plugin: plugin.name, worker: name });
              options.fail(`worker ${name} of plugin ${plugin.name} failed`);
            },
          );
        workers.defer(`worker ${name}`, async () => {
          await ended;
          if (failure !== undefined) throw failure;
        });
      },
      config: () => options.config()[plugin.name],
      log,
      markNotReady: (reason) => this.marks.set(plugin.name, reason),
      markReady: () => this.marks.delete(plugin.name),
      app: options.app,
      instance: options.instance,
      metrics: options.metrics(plugin.name),
    };
  }
}

async function check(plugin: string, ready: () => unknown): Promise<NotReady | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), READY_CHECK_TIMEOUT_MS)));
  try {
    const answer = await Promise.race([Promise.resolve().then(ready), late]);
    if (answer === "late") return { plugin, reason: `no answer within ${READY_CHECK_TIMEOUT_MS} ms` };
    return answer === false ? { plugin, reason: "its check answered false" } : undefined;
  } catch (error) {
    return { plugin, reason: errorText(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** A worker that ends by throwing its own abort (fetch, timers/promises) has simply stopped. */
function isAbort(error: unknown, signal: AbortSignal): boolean {
  return error === signal.reason || (error instanceof Error && error.name === "AbortError");
}
