// `rodent restart`: start the executable now on disk with the running instance's arguments,
// environment and directory, let it bind beside the old one and take the lock over once ready,
// and only then let the old one drain. A successor that fails leaves the old one serving.
import { constants, openSync, readFileSync, readlinkSync } from "node:fs";
import { DAEMON_FD_ENV, TAKEOVER_ENV } from "../daemon/channel";
import { RodentError } from "../errors";
import { isAlive } from "../instance/identity";
import { readStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import type { Command } from "./command";
import { findTarget, targetFlags, waitFor } from "./target";

export const restart: Command = {
  name: "restart",
  summary: "Replace the running instance with a fresh start of the binary on disk, dropping no request.",
  flags: targetFlags,
  details:
    "The new process binds the same port (SO_REUSEPORT), becomes ready, takes over the PID file, and\nonly then is the old one told to drain. Replacing the binary first and then restarting is an upgrade.",
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    if (seen.kind !== "held") throw new RodentError(`rodent is not running (PID file ${pidPath}); start it with 'rodent serve'`);
    const old = seen.holder.pid;
    const record = readStatus(pidPath);
    const proc = (what: string) => `/proc/${old}/${what}`;
    let exe: string;
    let argv: string[];
    let cwd: string;
    let env: NodeJS.ProcessEnv;
    try {
      exe = readlinkSync(proc("exe")).replace(/ \(deleted\)$/, "");
      argv = readFileSync(proc("cmdline"), "utf8").split("\0").filter(Boolean);
      cwd = readlinkSync(proc("cwd"));
      env = Object.fromEntries(readFileSync(proc("environ"), "utf8").split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    } catch (error) {
      throw new RodentError(`cannot read how PID ${old} was started (${(error as NodeJS.ErrnoException).code}): run restart as the same user, on Linux`);
    }
    for (const key of [DAEMON_FD_ENV, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "BUN_BE_BUN"]) delete env[key];
    env[TAKEOVER_ENV] = String(old);
    if (readMigrateReq() === "0") {
      process.stderr.write("rodent: warning: net.ipv4.tcp_migrate_req is 0, so connections queued on the old listener may be reset as it closes; set it to 1 (sysctl) for a hand-over that drops nothing\n");
    }
    // The successor writes where the old one writes: its stdout and stderr, reopened through /proc.
    const output = (fd: number) => {
      try {
        return openSync(proc(`fd/${fd}`), constants.O_WRONLY | constants.O_APPEND);
      } catch {
        return openSync("/dev/null", constants.O_WRONLY);
      }
    };
    const { spawnDetached } = await import("../daemon/detach");
    // The program to run is argv[0]'s executable now on disk, with the same arguments after it.
    const started = await spawnDetached({
      command: exe,
      args: argv.slice(1),
      env,
      cwd,
      stdout: output(1),
      stderr: output(2),
      readyTimeoutMs: 30_000,
      logHint: record?.logFile ?? "its output",
    }).catch((error: Error) => {
      throw new RodentError(`the new instance failed; PID ${old} keeps serving: ${error.message}`);
    });
    await waitFor(() => !isAlive(old), 120_000);
    const now = readStatus(pidPath);
    process.stdout.write(`rodent restarted: PID ${old} → PID ${started.pid} on ${started.address}${now?.version ? ` (version ${now.version})` : ""}\n`);
    return EXIT.ok;
  },
};

function readMigrateReq(): string | undefined {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim();
  } catch {
    return undefined;
  }
}
