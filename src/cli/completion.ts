// `rodent completion bash|zsh|fish`: a completion script generated from the command table, so a new
// command or flag completes without anyone editing a script.
import { UsageError } from "../errors";
import { EXIT } from "../kernel/exit-codes";
import { program } from "../program";
import { named, type Command, type Flag } from "./command";

const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

export const completion: Command = {
  name: "completion",
  summary: "Print a shell completion script (bash, zsh or fish).",
  args: "bash|zsh|fish",
  flags: {},
  details: "Load it with: source <({name} completion bash); or save it where your shell looks, e.g. {name} completion fish > ~/.config/fish/completions/{name}.fish",
  async run({ positionals }) {
    const shell = positionals[0] as Shell | undefined;
    if (!shell || !SHELLS.includes(shell) || positionals.length > 1) {
      throw new UsageError(`completion: ${shell ? `unknown shell '${positionals.join(" ")}'` : "which shell?"}: use bash, zsh or fish`, `e.g. '${program().name} completion bash'`);
    }
    // the table is read when the command runs: ./index imports this file
    const { COMMANDS } = await import("./index");
    // written for rodent; an app's binary completes under its own name
    const { name } = program();
    const script = SCRIPTS[shell](COMMANDS);
    process.stdout.write(name === "rodent" ? script : script.replace(/\brodent\b/g, name));
    return EXIT.ok;
  },
};

/** What a command line offers after a command: its flags and its positional words and files. */
interface Shape {
  name: string;
  summary: string;
  flags: Array<{ long: string; short?: string; takes: "none" | "file" | "value"; description: string }>;
  /** Words listed in `args` (e.g. print, check, init). */
  words: string[];
  /** Whether a positional may be a file (`args` names PATH or FILE). */
  files: boolean;
}

/** Reads a command's definition as completion sees it. Exported for the man page. */
export function shapeOf(command: Command): Shape {
  const flags = Object.entries(command.flags).map(([long, flag]: [string, Flag]) => ({
    long,
    ...(flag.short ? { short: flag.short } : {}),
    takes: flag.type === "boolean" ? ("none" as const) : /^(FILE|PATH)$/.test(flag.value ?? "") ? ("file" as const) : ("value" as const),
    description: named(flag.description),
  }));
  flags.push({ long: "help", short: "h", takes: "none", description: "show this help" });
  const tokens = (command.args ?? "").replace(/[[\]]/g, " ").split(/\s+/).filter(Boolean);
  const words = tokens.filter((t) => /^[a-z][a-z|-]*$/.test(t)).flatMap((t) => t.split("|"));
  return { name: command.name, summary: named(command.summary), flags, words, files: tokens.some((t) => /^(FILE|PATH)$/.test(t)) };
}

const TOP_FLAGS = ["-h", "--help", "-v", "--version", "-t", "-s"];
const S_VERBS = ["stop", "reload", "reopen"];

const SCRIPTS: Record<Shell, (commands: Command[]) => string> = { bash, zsh, fish };

function bash(commands: Command[]): string {
  const shapes = commands.map(shapeOf);
  const names = [...shapes.map((s) => s.name), "help"];
  // `rodent -t` takes config check's flags and no action word
  const check = shapes.find((s) => s.name === "config");
  const withCheck = check ? [...shapes, { ...check, name: "-t", words: [], files: false }] : shapes;
  const cases = withCheck.map((s) => {
    const fileFlags = s.flags.filter((f) => f.takes === "file").flatMap((f) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])]);
    const valueFlags = s.flags.filter((f) => f.takes === "value").flatMap((f) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])]);
    const flagWords = s.flags.map((f) => `--${f.long}`).join(" ");
    return [
      `    ${s.name})`,
      ...(fileFlags.length ? [`      case "$prev" in ${fileFlags.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac`] : []),
      ...(valueFlags.length ? [`      case "$prev" in ${valueFlags.join("|")}) return ;; esac`] : []),
      `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${flagWords}" -- "$cur")); return; fi`,
      ...(s.words.length ? [`      COMPREPLY=($(compgen -W "${s.words.join(" ")}" -- "$cur"))`] : []),
      ...(s.files ? [`      COMPREPLY+=($(compgen -f -- "$cur"))`] : []),
      `      ;;`,
    ].join("\n");
  });
  return `# bash completion for rodent, generated from its command table by 'rodent completion bash'.
_rodent() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names.join(" ")} ${TOP_FLAGS.join(" ")}" -- "$cur"))
    return
  fi
  local command="\${COMP_WORDS[1]}"
  if [ "$command" = "-s" ]; then
    if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=($(compgen -W "${S_VERBS.join(" ")}" -- "$cur")); return; fi
    command="\${COMP_WORDS[2]}"
  fi
  case "$command" in
${cases.join("\n")}
    help) COMPREPLY=($(compgen -W "${shapes.map((s) => s.name).join(" ")}" -- "$cur")) ;;
  esac
}
complete -o filenames -F _rodent rodent
`;
}

/** Quotes for zsh's single quotes and strips the characters _arguments gives meaning to. */
const zq = (text: string) => text.replace(/[[\]:]/g, " ").replace(/'/g, "'\\''");

function zsh(commands: Command[]): string {
  const shapes = commands.map(shapeOf);
  const cases = shapes.map((s) => {
    const specs = s.flags.map((f) => {
      const action = f.takes === "file" ? ":file:_files" : f.takes === "value" ? ":value: " : "";
      const names = f.short ? `'(-${f.short} --${f.long})'{-${f.short},--${f.long}}` : `'--${f.long}`;
      return f.short ? `${names}'[${zq(f.description)}]${action}'` : `${names}[${zq(f.description)}]${action}'`;
    });
    const positional = s.words.length ? `'*:argument:(${s.words.join(" ")})'` : s.files ? `'*:file:_files'` : "";
    if (s.words.length && s.files) specs.push(`'1:action:(${s.words.join(" ")})'`, `'*:file:_files'`);
    else if (positional) specs.push(positional);
    return `    ${s.name}) _arguments -s ${specs.join(" \\\n        ")} ;;`;
  });
  return `#compdef rodent
# zsh completion for rodent, generated from its command table by 'rodent completion zsh'.
_rodent() {
  local -a commands
  commands=(
${shapes.map((s) => `    '${s.name}:${zq(s.summary)}'`).join("\n")}
    'help:show help for rodent or for a command'
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'rodent command' commands
    compadd -- ${TOP_FLAGS.join(" ")}
    return
  fi
  local command=$words[2]
  if [[ $command == -s ]]; then
    if (( CURRENT == 3 )); then compadd -- ${S_VERBS.join(" ")}; return; fi
    command=$words[3]; shift words; (( CURRENT-- ))
  elif [[ $command == -t ]]; then
    command=config
  fi
  shift words; (( CURRENT-- ))
  case $command in
${cases.join("\n")}
    help) compadd -- ${shapes.map((s) => s.name).join(" ")} ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _rodent "$@"; else compdef _rodent rodent; fi
`;
}

const fq = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fish(commands: Command[]): string {
  const shapes = commands.map(shapeOf);
  const names = [...shapes.map((s) => s.name), "help"].join(" ");
  const lines = [
    "# fish completion for rodent, generated from its command table by 'rodent completion fish'.",
    "complete -c rodent -f",
    ...shapes.map((s) => `complete -c rodent -n 'not __fish_seen_subcommand_from ${names}' -a ${s.name} -d ${fq(s.summary)}`),
    `complete -c rodent -n 'not __fish_seen_subcommand_from ${names}' -a help -d 'show help for rodent or for a command'`,
    `complete -c rodent -n 'not __fish_seen_subcommand_from ${names}' -s t -d 'as config check'`,
    `complete -c rodent -n 'not __fish_seen_subcommand_from ${names}' -s s -x -a '${S_VERBS.join(" ")}' -d 'signal the running instance'`,
    `complete -c rodent -n '__fish_seen_subcommand_from help' -a '${shapes.map((s) => s.name).join(" ")}'`,
  ];
  for (const s of shapes) {
    const when = `-n '__fish_seen_subcommand_from ${s.name}'`;
    for (const f of s.flags) {
      const takes = f.takes === "file" ? " -r -F" : f.takes === "value" ? " -x" : "";
      lines.push(`complete -c rodent ${when}${f.short ? ` -s ${f.short}` : ""} -l ${f.long}${takes} -d ${fq(f.description)}`);
    }
    if (s.words.length) lines.push(`complete -c rodent ${when} -a '${s.words.join(" ")}'`);
    if (s.files) lines.push(`complete -c rodent ${when} -F`);
  }
  return `${lines.join("\n")}\n`;
}
