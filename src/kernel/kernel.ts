// The process lifecycle: one root scope, the state machine, signal verbs, shutdown with a deadline,
// and the only path that ends the process.
import { EXIT, forcedBySignal } from "./exit-codes";
import { Scope } from "./scope";
import { routeSignals, type SignalSource, type Verb } from "./signals";

export type State = "starting" | "ready" | "reloading" | "draining" | "stopped";

/** What the kernel needs to say; the log module provides it. Fields become structured fields. */
export interface KernelLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface KernelOptions {
  log: KernelLog;
  /** Overall budget for the drain and every cleanup, from the moment shutdown starts. */
  shutdownTimeoutMs: number;
  /** Ends the process; must flush what needs flushing first. Tests pass a recorder. */
  exit: (code: number) => never | void;
  signals?: SignalSource;
}

type Handler = () => void | Promise<void>;

export class Kernel {
  readonly root: Scope;
  private current: State = "starting";
  private readonly listeners = new Set<(state: State, previous: State) => void>();
  private stopping: Promise<void> | undefined;
  private reloadHandler: Handler | undefined;
  private reopenHandler: Handler | undefined;
  private handoverHandler: Handler | undefined;
  private handoverRunning: Promise<void> | undefined;
  private reloadRunning: Promise<void> | undefined;
  private reloadAgain = false;
  private readonly uninstallSignals: Array<() => void> = [];
  private readonly startedAt = Date.now();
  /** Cleanups that ran out of time: the shutdown was not graceful, whichever timer noticed first. */
  private readonly abandoned: string[] = [];
  /** A cleanup threw: the shutdown finished, but not cleanly, so the exit code says so. */
  private cleanupFailed = false;

  constructor(private readonly options: KernelOptions) {
    this.root = new Scope("rodent", {
      onCleanupError: (f) => {
        if (f.timedOut) this.abandoned.push(`${f.scope}/${f.cleanup}`);
        else this.cleanupFailed = true;
        options.log.error(f.timedOut ? "cleanup timed out" : "cleanup failed", {
          event: "cleanup-failed",
          scope: f.scope,
          cleanup: f.cleanup,
          error: errorText(f.error),
        });
      },
    });
    this.uninstallSignals.push(routeSignals(this.signals, (verb, signal) => this.act(verb, signal)));
  }

  private get signals(): SignalSource {
    return this.options.signals ?? process;
  }

  get state(): State {
    return this.current;
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Calls `fn` on every state change; returns an unsubscribe function. */
  onState(fn: (state: State, previous: State) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setState(next: State): void {
    if (next === this.current) return;
    const previous = this.current;
    this.current = next;
    // A listener that throws (a status write hitting EMFILE) must not abort the transition: a
    // drain that never ran would leave the process serving after SIGTERM.
    for (const fn of this.listeners) {
      try {
        fn(next, previous);
      } catch (error) {
        this.options.log.error(`on state ${next}: ${errorText(error)}`, { event: "state-listener-failed", state: next });
      }
    }
  }

  /** A reload may change the shutdown budget; a drain already under way keeps its own. */
  setShutdownTimeout(ms: number): void {
    this.options.shutdownTimeoutMs = ms;
  }

  /** SIGHUP's action. Until one is set, a reload logs that nothing is reloadable. */
  onReload(fn: Handler): void {
    this.reloadHandler = fn;
  }

  /** SIGUSR1's action. */
  onReopen(fn: Handler): void {
    this.reopenHandler = fn;
  }

  /**
   * SIGUSR2's action: hand the listener to a successor. Until this is called SIGUSR2 is not caught
   * at all, so only an instance that can hand over ever claims the signal. One hand-over at a time;
   * none once the drain began.
   */
  onHandover(fn: Handler): void {
    if (this.handoverHandler === undefined) {
      this.uninstallSignals.push(routeSignals(this.signals, (verb, signal) => this.act(verb, signal), ["handover"]));
    }
    this.handoverHandler = fn;
  }

  /** Marks the process ready; a shutdown that already began wins. */
  ready(): void {
    if (this.current === "starting") this.setState("ready");
  }

  /**
   * Graceful shutdown: state draining, close the root scope (children first, last-registered
   * first) within shutdownTimeoutMs, then exit with `code`. At the deadline the remaining work is
   * abandoned, critical cleanups run synchronously and the process exits with EXIT.deadline.
   * Idempotent: later calls return the same promise and do not change the exit code.
   */
  shutdown(reason: string, code: number = EXIT.ok): Promise<void> {
    this.stopping ??= this.drain(reason, code);
    return this.stopping;
  }

  /** Exit now: critical cleanups (PID file) run synchronously, nothing else is awaited. */
  force(code: number, why: string): void {
    this.options.log.warn(`forced exit: ${why}`, { event: "forced-exit", exitCode: code });
    this.root.runCritical(why);
    this.finish(code, why);
  }

  /** Logs an uncaught error with its stack and starts a graceful shutdown that exits 1. */
  fatal(error: unknown, origin: string): void {
    this.options.log.error(`fatal ${origin}: ${errorText(error)}`, {
      event: "fatal",
      origin,
      stack: error instanceof Error ? error.stack : undefined,
    });
    void this.shutdown(`fatal ${origin}`, EXIT.failure);
  }

  /** Routes uncaught exceptions and unhandled rejections to fatal(). */
  catchFatalErrors(): void {
    process.on("uncaughtException", (error) => this.fatal(error, "uncaught exception"));
    process.on("unhandledRejection", (error) => this.fatal(error, "unhandled rejection"));
  }

  private act(verb: Verb, signal: NodeJS.Signals): void {
    this.options.log.info(`received ${signal}`, { event: "signal", signal, verb, state: this.current });
    if (verb === "stop") {
      if (this.stopping) this.force(forcedBySignal(signal), `second ${signal} during the drain`);
      else void this.shutdown(signal, EXIT.ok);
    } else if (verb === "reload") {
      void this.reload();
    } else if (verb === "reopen") {
      void this.runHandler("reopen", this.reopenHandler);
    } else if (verb === "handover") {
      if (this.stopping || this.handoverRunning) {
        this.options.log.warn(`hand-over not started: ${this.stopping ? "the instance is draining" : "one is already under way"}`, { event: "handover-ignored" });
        return;
      }
      this.handoverRunning = this.runHandler("handover", this.handoverHandler).finally(() => (this.handoverRunning = undefined));
    }
  }

  /** Runs the reload handler; reloads asked for while one runs coalesce into one more. */
  async reload(): Promise<void> {
    if (this.stopping) return;
    if (this.reloadRunning) {
      this.reloadAgain = true;
      return this.reloadRunning;
    }
    if (!this.reloadHandler) {
      this.options.log.warn("reload asked for, but nothing is reloadable", { event: "reload-rejected" });
      return;
    }
    this.reloadRunning = (async () => {
      do {
        this.reloadAgain = false;
        this.setState("reloading");
        await this.runHandler("reload", this.reloadHandler);
        if (this.current === "reloading") this.setState("ready");
      } while (this.reloadAgain && !this.stopping);
    })().finally(() => (this.reloadRunning = undefined));
    return this.reloadRunning;
  }

  private async runHandler(what: string, handler: Handler | undefined): Promise<void> {
    try {
      await handler?.();
    } catch (error) {
      this.options.log.error(`${what} failed: ${errorText(error)}`, { event: `${what}-failed` });
    }
  }

  private async drain(reason: string, code: number): Promise<void> {
    const started = Date.now();
    const deadline = started + this.options.shutdownTimeoutMs;
    this.setState("draining");
    this.options.log.info(`shutting down (${reason})`, { event: "shutdown-started", reason });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const passed = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), this.options.shutdownTimeoutMs);
    });
    const outcome = await Promise.race([this.root.close(reason, deadline).then(() => "done" as const), passed]);
    clearTimeout(timer);
    if (outcome === "deadline" || this.abandoned.length > 0) {
      const left = [...this.abandoned, ...pending(this.root.describe())];
      this.options.log.error(
        `shutdown deadline of ${this.options.shutdownTimeoutMs} ms passed; abandoning: ${left.join(", ") || "nothing"}`,
        { event: "shutdown-deadline" },
      );
      this.root.runCritical("shutdown deadline");
      code = EXIT.deadline;
    } else if (this.cleanupFailed && code === EXIT.ok) {
      code = EXIT.failure;
    }
    this.options.log.info("shutdown complete", { event: "stopped", durationMs: Date.now() - started, exitCode: code });
    this.finish(code, reason);
  }

  private finish(code: number, _why: string): void {
    this.setState("stopped");
    for (const uninstall of this.uninstallSignals) uninstall();
    this.options.exit(code);
  }
}

function pending(d: ReturnType<Scope["describe"]>, prefix = ""): string[] {
  const here = [...(d.running ? [`${d.running} (running)`] : []), ...d.cleanups].map((c) => `${prefix}${d.name}/${c}`);
  return [...here, ...d.children.flatMap((c) => pending(c, `${prefix}${d.name}/`))];
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
