// rodent.1: the man page, generated at build time from the same command table as the help text
// and the completion scripts, so it cannot drift from what the binary accepts.
import { SIGNALS } from "../kernel/signals";
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

/** The roff source of rodent(1) for `version`, dated `date` (YYYY-MM-DD, the build time's date). */
export function manPage(version: string, date: string): string {
  const out: string[] = [
    `.TH RODENT 1 "${date}" "rodent ${esc(version)}" "User Commands"`,
    ".SH NAME",
    "rodent \\- a single-binary HTTP daemon with a process lifecycle you can trust",
    ".SH SYNOPSIS",
    ".B rodent",
    ".I command",
    "[\\fIflags\\fR]",
    ".br",
    ".B rodent \\-t",
    "[\\fIflags\\fR]",
    ".br",
    ".B rodent \\-s",
    "\\fBstop\\fR|\\fBreload\\fR|\\fBreopen\\fR [\\fIflags\\fR]",
    ".SH DESCRIPTION",
    "rodent serves HTTP on one port or unix socket, keeps one instance per PID file, drains in-flight",
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
  for (const [usage, meaning] of NGINX_HABITS) out.push(".TP", `\\fBrodent ${esc(usage)}\\fR`, esc(meaning));
  out.push(".SH SIGNALS");
  for (const s of SIGNALS) out.push(".TP", `\\fB${s.signal}\\fR`, esc(s.meaning));
  out.push(".SH EXIT STATUS");
  for (const [code, meaning] of EXIT_STATUS) out.push(".TP", `\\fB${code}\\fR`, esc(meaning));
  out.push(
    ".SH ENVIRONMENT",
    ".TP", "\\fBRODENT_CONFIG\\fR", "the config file when \\fB\\-c\\fR is not given",
    ".TP", "\\fBRODENT_PID_PATH\\fR", "the PID file control commands look for",
    ".TP", "\\fBRODENT_\\fISECTION\\fB_\\fIKEY\\fR", "any config key, e.g. \\fBRODENT_SERVER_PORT\\fR",
    ".SH FILES",
    ".TP", "\\fI./rodent.yml\\fR, \\fI~/.rodent/rodent.yml\\fR, \\fI/etc/rodent/rodent.yml\\fR", "the config file, the first that exists",
    ".TP", "\\fI/run/rodent/rodent.pid\\fR", "the PID file when run as root; \\fI$XDG_RUNTIME_DIR/rodent/rodent.pid\\fR or \\fI~/.rodent/rodent.pid\\fR otherwise",
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
