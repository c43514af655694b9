// The one signal table: which signal means which verb. `rodent stop|reload` look verbs up here too.

export type Verb = "stop" | "reload" | "reopen";

export const SIGNALS: ReadonlyArray<{ signal: NodeJS.Signals; verb: Verb; meaning: string }> = [
  { signal: "SIGTERM", verb: "stop", meaning: "graceful shutdown; a second one during the drain forces exit" },
  { signal: "SIGINT", verb: "stop", meaning: "as SIGTERM (Ctrl-C)" },
  { signal: "SIGHUP", verb: "reload", meaning: "re-read the config file and apply it, or keep the old one" },
  { signal: "SIGUSR1", verb: "reopen", meaning: "reopen the log file (after logrotate moved it)" },
];

/** The signal that carries a verb to a running instance. */
export function signalFor(verb: Verb): NodeJS.Signals {
  return SIGNALS.find((s) => s.verb === verb)!.signal;
}

/** The minimal event source a router needs; node:process satisfies it, tests pass a fake. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * Routes the table's signals to `act`. The handler only records the intent; `act` runs on a
 * later microtask so no work happens inside the signal callback. Returns an uninstall function.
 */
export function routeSignals(source: SignalSource, act: (verb: Verb, signal: NodeJS.Signals) => void): () => void {
  const listeners = SIGNALS.map(({ signal, verb }) => {
    const listener = () => queueMicrotask(() => act(verb, signal));
    source.on(signal, listener);
    return () => source.off(signal, listener);
  });
  return () => listeners.forEach((off) => off());
}
