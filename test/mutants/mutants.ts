// The named mutations `npm run mutants` applies one at a time. Each breaks one promise of the
// README in a few characters; `tests` are the files that must notice. An anchor (`find`) must occur
// exactly once in `file`: when the source moves on, the runner reports the mutant as stale.

export interface Mutant {
  /** Short and unique; `npm run mutants NAME` runs this one alone. */
  name: string;
  /** The promise it breaks, as a user would notice it. */
  breaks: string;
  /** Path from the project root. */
  file: string;
  find: string;
  replace: string;
  /** Test files (from the project root) that should catch it. */
  tests: string[];
}

export const MUTANTS: Mutant[] = [
  {
    name: "second-signal-waits",
    breaks: "a second SIGTERM/SIGINT during the drain does not force an exit",
    file: "src/kernel/kernel.ts",
    find: "if (this.stopping) this.force(forcedBySignal(signal), `second ${signal} during the drain`);",
    replace: "if (this.stopping) return;",
    tests: ["test/kernel.test.ts"],
  },
  {
    name: "deadline-ignored",
    breaks: "the shutdown deadline is ignored: a stuck request holds the exit",
    file: "src/cli/serve.ts",
    find: "shutdownTimeoutMs: ms(config().server.shutdownTimeout),",
    replace: "shutdownTimeoutMs: 3_600_000,",
    tests: ["test/kernel.test.ts"],
  },
];
