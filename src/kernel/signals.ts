// The one signal table: which signal means which verb. `rodent stop|reload` look verbs up here too.

export type Verb = "stop" | "reload" | "reopen" | "handover";

export const SIGNALS: ReadonlyArray<{ signal: NodeJS.Signals; verb: Verb; meaning: string; optIn?: boolean }> = [
  { signal: "SIGTERM", verb: "stop", meaning: "graceful shutdown; a second one during the drain forces exit" },
  { signal: "SIGINT", verb: "stop", meaning: "as SIGTERM (Ctrl-C)" },
  { signal: "SIGHUP", verb: "reload", meaning: "re-read the config file and apply it, or keep the old one" },
  { signal: "SIGUSR1", verb: "reopen", meaning: "reopen the log file (after logrotate moved it)" },
  // Caught once an instance listens (until then SIGUSR2 keeps its default action, and `rodent
  // restart` checks SigCgt before sending it).
  { signal: "SIGUSR2", verb: "handover", meaning: "start a successor and hand over to it (rodent restart)", optIn: true },
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
 * Routes the table's signals to `act`: the verbs in `only` when given, else every one not opt-in.
 * The handler only records the intent; `act` runs on a later microtask so no work happens inside
 * the signal callback. Returns an uninstall function.
 */
export function routeSignals(source: SignalSource, act: (verb: Verb, signal: NodeJS.Signals) => void, only?: readonly Verb[]): () => void {
  const listeners = SIGNALS.filter((s) => (only ? only.includes(s.verb) : !s.optIn)).map(({ signal, verb }) => {
    const listener = () => queueMicrotask(() => act(verb, signal));
    source.on(signal, listener);
    return () => source.off(signal, listener);
  });
  return () => listeners.forEach((off) => off());
}
