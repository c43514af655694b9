// A tree of lifetimes over AbortController: each component owns a child scope and registers its
// cleanups where it acquires the resource; closing a scope unwinds its subtree in reverse order.

export interface CleanupContext {
  /** Why the scope closed (the value passed to close()). */
  reason: unknown;
  /** Milliseconds left before the overall deadline; Infinity when there is none. */
  timeLeftMs: number;
}

export type Cleanup = (ctx: CleanupContext) => void | Promise<void>;

/** A cleanup that failed or ran past the deadline, reported to the root's onCleanupError. */
export interface CleanupFailure {
  scope: string;
  cleanup: string;
  error: unknown;
  timedOut: boolean;
}

interface Entry {
  name: string;
  fn: Cleanup;
  /** Must run even on a forced exit; always synchronous. */
  critical: boolean;
  done: boolean;
}

export interface ScopeOptions {
  onCleanupError?: (failure: CleanupFailure) => void;
  /**
   * The signal aborts when this scope itself closes (its turn in the parent's unwind), not when
   * the parent's signal aborts: what serves requests must outlive the drain that precedes it.
   */
  ownTurn?: boolean;
}

export class DeadlineError extends Error {
  constructor(what: string) {
    super(`${what} did not finish before the deadline`);
  }
}

/**
 * A scope owns an AbortSignal and an ordered list of cleanups.
 *
 * close(reason, deadline): aborts this scope's signal (and so every descendant's), closes the
 * children newest-first, then runs this scope's cleanups last-registered-first. Each cleanup gets
 * the time left before `deadline` (epoch ms); one that throws or runs past it is reported through
 * onCleanupError with its name and the rest still run. close() is idempotent: concurrent and
 * repeated calls share one closing. A cleanup deferred on a closed scope runs at once. A closed
 * child removes itself from its parent, so long-lived parents do not collect dead children.
 */
export class Scope {
  readonly name: string;
  private readonly controller = new AbortController();
  private readonly entries: Entry[] = [];
  private readonly children = new Set<Scope>();
  private closing: Promise<void> | undefined;
  /** The cleanup being awaited right now, if any: what a deadline abandons. */
  private running: string | undefined;
  private readonly detachFromParent: () => void;
  private readonly onCleanupError: (failure: CleanupFailure) => void;

  constructor(name: string, options: ScopeOptions = {}, private readonly parent?: Scope) {
    this.name = name;
    this.onCleanupError = options.onCleanupError ?? parent?.onCleanupError ?? (() => {});
    if (parent && options.ownTurn) {
      this.detachFromParent = () => parent.children.delete(this);
    } else if (parent) {
      const onAbort = () => this.controller.abort(parent.signal.reason);
      parent.signal.addEventListener("abort", onAbort, { once: true });
      this.detachFromParent = () => {
        parent.signal.removeEventListener("abort", onAbort);
        parent.children.delete(this);
      };
    } else {
      this.detachFromParent = () => {};
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * A child scope, closed (newest first) before this scope's own cleanups run. Its signal aborts
   * with this scope's, or with `ownTurn` only when the child's own close begins.
   */
  child(name: string, options: { ownTurn?: boolean } = {}): Scope {
    const child = new Scope(name, { ownTurn: options.ownTurn }, this);
    if (this.closing) {
      child.close(this.signal.reason);
    } else {
      this.children.add(child);
    }
    return child;
  }

  /**
   * Registers a cleanup. With `critical`, the cleanup must be synchronous: it also runs on a
   * forced exit (runCritical), exactly once either way.
   */
  defer(name: string, fn: Cleanup, options: { critical?: boolean } = {}): void {
    const entry: Entry = { name, fn, critical: options.critical ?? false, done: false };
    if (this.closing) {
      void this.runEntry(entry, { reason: this.signal.reason, timeLeftMs: Infinity }, Infinity);
      return;
    }
    this.entries.push(entry);
  }

  close(reason: unknown = "closed", deadline = Infinity): Promise<void> {
    this.closing ??= this.unwind(reason, deadline);
    return this.closing;
  }

  /**
   * Runs every critical cleanup in this subtree that has not run yet, synchronously, children
   * first and newest first. For the forced-exit path, where nothing async can be awaited.
   */
  runCritical(reason: unknown): void {
    for (const child of [...this.children].reverse()) child.runCritical(reason);
    for (const entry of [...this.entries].reverse()) {
      if (!entry.critical || entry.done) continue;
      entry.done = true;
      try {
        entry.fn({ reason, timeLeftMs: 0 });
      } catch (error) {
        this.onCleanupError({ scope: this.name, cleanup: entry.name, error, timedOut: false });
      }
    }
  }

  /** The subtree as plain data: names, cleanups still pending, children. */
  describe(): ScopeDescription {
    return {
      name: this.name,
      closed: this.closed,
      running: this.running,
      cleanups: this.entries.filter((e) => !e.done).map((e) => e.name),
      children: [...this.children].map((c) => c.describe()),
    };
  }

  private async unwind(reason: unknown, deadline: number): Promise<void> {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    for (const child of [...this.children].reverse()) await child.close(reason, deadline);
    while (this.entries.length > 0) {
      const entry = this.entries.pop()!;
      this.running = entry.name;
      await this.runEntry(entry, { reason, timeLeftMs: Math.max(0, deadline - Date.now()) }, deadline);
      this.running = undefined;
    }
    this.detachFromParent();
  }

  private async runEntry(entry: Entry, ctx: CleanupContext, deadline: number): Promise<void> {
    if (entry.done) return;
    entry.done = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = entry.fn(ctx);
      if (result instanceof Promise) {
        if (deadline === Infinity) {
          await result;
        } else {
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new DeadlineError(`cleanup ${entry.name}`)), ctx.timeLeftMs);
          });
          await Promise.race([result, timeout]);
        }
      }
    } catch (error) {
      this.onCleanupError({
        scope: this.name,
        cleanup: entry.name,
        error,
        timedOut: error instanceof DeadlineError,
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

export interface ScopeDescription {
  name: string;
  closed: boolean;
  running: string | undefined;
  cleanups: string[];
  children: ScopeDescription[];
}
