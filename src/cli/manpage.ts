// rodent.1 (or an application's <name>.1): the man page, generated at build time from the same
// command table as the help text and the completion scripts, so it cannot drift from what the
// binary accepts. Every name, path and variable is the program's (see program.ts).
import { SIGNALS } from "../kernel/signals";
import { envPrefix, program } from "../program";
import { named } from "./command";
import { COMMANDS } from "./index";
import { NGINX_HABITS } from "./nginx-habits";

/** Exit codes as the README's table states them (src/kernel/exit-codes.ts holds the numbers). */
const EXIT_STATUS: ReadonlyArray<[string, string]> = [
  ["0", "success; graceful shutdown after SIGTERM or SIGINT"],
  ["1", "failure at start-up or run time (bad config, instance already running, port in use, fatal error); status: stale PID file; reload: rejected"],
  ["2", "usage error: unknown command or flag, bad flag value"],
  ["3", "status: not running (LSB)"],
  ["4", "the shutdown deadline passed before the drain finished"],
  ["130, 143", "a second SIGINT or SIGTERM during the drain forced the exit"],
];

/**
 * The roff source of the program's man page (rodent(1), or notes(1) once build.ts named the program
 * "notes") for `version`, dated `date` (YYYY-MM-DD, the build time's date).
 */
export function manPage(version: string, date: string): string {
  const { name } = program();
  const b = `\\fB${esc(name)}\\fR`;
  const out: string[] = [
    `.TH ${esc(name.toUpperCase())} 1 "${date}" "${esc(name)} ${esc(version)}" "User Commands"`,
    ".SH NAME",
    name === "rodent" ? "rodent \\- a single-binary HTTP daemon with a process lifecycle you can trust" : `${esc(name)} \\- a service built on rodent`,
    ".SH SYNOPSIS",
    `.B ${esc(name)}`,
    ".I command",
    "[\\fIflags\\fR]",
    ".br",
    `.B ${esc(name)} \\-t`,
    "[\\fIflags\\fR]",
    ".br",
    `.B ${esc(name)} \\-s`,
    "\\fBstop\\fR|\\fBreload\\fR|\\fBreopen\\fR [\\fIflags\\fR]",
    ".SH DESCRIPTION",
    `${name === "rodent" ? "rodent" : `${b}, built on rodent,`} serves HTTP on one port or unix socket, keeps one instance per PID file, drains in-flight`,
    "requests on SIGTERM, reloads its config on SIGHUP without ever running a bad one, and tells",
    "systemd, Kubernetes and nginx the truth about its state.",
    "Every command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR.",
    ".SH COMMANDS",
  ];
  for (const command of COMMANDS) {
    out.push(`.SS ${command.name}${command.args ? ` ${esc(command.args)}` : ""}`, esc(named(command.summary)));
    if (command.details) out.push(".PP", esc(named(command.details)));
    for (const [name, flag] of Object.entries(command.flags)) {
      out.push(".TP", `${flag.short ? `\\fB\\-${flag.short}\\fR, ` : ""}\\fB\\-\\-${esc(name)}\\fR${flag.value ? ` \\fI${esc(flag.value)}\\fR` : ""}`, esc(named(flag.description)));
    }
  }
  out.push(".SH NGINX HABITS");
  for (const [usage, meaning] of NGINX_HABITS) out.push(".TP", `\\fB${esc(name)} ${esc(usage)}\\fR`, esc(meaning));
  out.push(".SH SIGNALS");
  for (const s of SIGNALS) out.push(".TP", `\\fB${s.signal}\\fR`, esc(s.meaning));
  out.push(".SH EXIT STATUS");
  for (const [code, meaning] of EXIT_STATUS) out.push(".TP", `\\fB${code}\\fR`, esc(meaning));
  const env = esc(envPrefix(name));
  const file = `${esc(name)}.yml`;
  out.push(
    ".SH ENVIRONMENT",
    ".TP", `\\fB${env}CONFIG\\fR`, "the config file when \\fB\\-c\\fR is not given",
    ".TP", `\\fB${env}PID_PATH\\fR`, "the PID file control commands look for",
    ".TP", `\\fB${env}\\fISECTION\\fB_\\fIKEY\\fR`, `any config key, e.g. \\fB${env}SERVER_PORT\\fR`,
    ".SH FILES",
    ".TP", `\\fI./${file}\\fR, \\fI~/.${esc(name)}/${file}\\fR, \\fI/etc/${esc(name)}/${file}\\fR`, "the config file, the first that exists",
    ".TP", `\\fI/run/${esc(name)}/${esc(name)}.pid\\fR`, `the PID file when run as root; \\fI$XDG_RUNTIME_DIR/${esc(name)}/${esc(name)}.pid\\fR or \\fI~/.${esc(name)}/${esc(name)}.pid\\fR otherwise`,
    ".SH SEE ALSO",
    "\\fBsystemd.service\\fR(5), \\fBlogrotate\\fR(8), \\fBnginx\\fR(8)",
    "",
  );
  return out.join("\n");
}

/** Escapes text for roff: backslashes, hyphens that must stay hyphens, and a leading control character. */
function esc(text: string): string {
  return text.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/, "\\&$1").replace(/\n/g, " ");
}
