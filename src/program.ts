// Which program this binary is: rodent itself, or an application built on it with rodent(app).
// One binary is one program, as argv[0] is one name: `rodent(app)` names it once, before any
// command runs, and everything a user sees (help, messages, paths, the environment prefix, the
// process identity) reads the name from here. Plugins never live here: they travel with the app.

export interface ProgramName {
  /** Lower-case, [a-z][a-z0-9-]*: "rodent", "notes". */
  readonly name: string;
  /** The application's version; rodent's own for rodent itself. */
  readonly version: string;
}

let current: ProgramName = { name: "rodent", version: "" };

/** Names the program; called once by rodent(app) before the command line is parsed. */
export function nameProgram(next: ProgramName): void {
  current = next;
}

export function program(): ProgramName {
  return current;
}

/** The environment prefix: "notes" → "NOTES_", "my-app" → "MY_APP_". */
export function envPrefix(name: string = current.name): string {
  return `${name.toUpperCase().replaceAll("-", "_")}_`;
}

/** <NAME>_PID_PATH: sets server.pidFile above the file and the other variables, below --pid-file. */
export function pidPathVariable(): string {
  return `${envPrefix()}PID_PATH`;
}
