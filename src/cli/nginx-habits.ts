// nginx habits operators type without thinking: `-t` checks the config, `-s VERB` signals the
// running instance. Each is spelled as the rodent command it stands for, so both share one code path.
import { UsageError } from "../errors";
import { program } from "../program";

/** The verbs `-s` accepts and the command each runs (`quit` is nginx's graceful stop, as ours is). */
const VERBS: Record<string, string> = { stop: "stop", quit: "stop", reload: "reload", reopen: "reopen" };

/** Help lines for the top-level usage. */
export const NGINX_HABITS: ReadonlyArray<[string, string]> = [
  ["-t [flags]", "as 'config check': validate the config and try the listen address"],
  ["-s stop|reload|reopen", "as the command of that name, for the running instance"],
];

/**
 * Rewrites `rodent -t …` to `rodent config check …` and `rodent -s VERB …` (or `-sVERB`) to
 * `rodent VERB …`; any other argv is returned as it is. An unknown verb is a UsageError.
 */
export function translateNginxHabits(argv: readonly string[]): string[] {
  const [first, ...rest] = argv;
  if (first === "-t") return ["config", "check", ...rest];
  if (first === undefined || !first.startsWith("-s") || first.startsWith("--")) return [...argv];
  const verb = first === "-s" ? rest.shift() : first.slice(2);
  const command = verb === undefined ? undefined : VERBS[verb];
  if (!command) {
    throw new UsageError(`-s ${verb === undefined ? "needs a verb" : `'${verb}' is not a verb ${program().name} knows`}: use stop, reload or reopen`, `e.g. '${program().name} -s reload'`);
  }
  return [command, ...rest];
}
