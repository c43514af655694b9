// rodent(app): the whole command line, named after the app, around the app's plugins.
import { runCli } from "./cli/run";
import { APP_VERSION } from "./build-info";
import { checkApp } from "./plugin/validate";
import type { App } from "./plugin/types";
import { nameProgram } from "./program";

/**
 * Runs the command line (serve, -d, stop, status, reload, restart, logs, config, health,
 * version) for `app` and ends the process with the command's exit code: the returned promise
 * never settles. The app's name replaces "rodent" in help, paths, the environment prefix and the
 * process identity. An invalid app (a bad name, two plugins with one name) exits 1 with one line.
 */
export function rodent(app: App): Promise<never> {
  const named = typeof app?.name === "string" && /^[a-z][a-z0-9-]*$/.test(app.name);
  nameProgram({ name: named ? app.name : "rodent", version: app?.version ?? APP_VERSION });
  return runCli(app, process.argv.slice(2), () => checkApp(app));
}
