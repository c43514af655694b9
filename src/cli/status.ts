// `rodent status`: LSB exit codes, and the live state as the instance itself records it.
import { readStatus } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import type { Command } from "./command";
import { findTarget, targetFlags } from "./target";
import { program } from "../program";

export const status: Command = {
  name: "status",
  summary: "Show whether {name} is running (exit 0), stale (1) or not running (3).",
  flags: { ...targetFlags, json: { type: "boolean", description: "print as JSON" } },
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    const print = (text: string, data: Record<string, unknown>) =>
      process.stdout.write(flags.json ? `${JSON.stringify({ pidFile: pidPath, ...data })}\n` : `${text}\n`);
    if (seen.kind === "absent") {
      print(`${program().name} is not running (no PID file at ${pidPath})`, { running: false });
      return EXIT.notRunning;
    }
    if (seen.kind === "stale") {
      print(`${program().name} is not running, but its PID file ${pidPath} remains (${seen.why})`, { running: false, stale: true, why: seen.why });
      return EXIT.failure;
    }
    if (seen.kind !== "held") return EXIT.failure;
    const pid = seen.holder.pid;
    const record = readStatus(pidPath);
    if (!record || record.pid !== pid) {
      print(`${program().name} is running (PID ${pid}), state starting`, { running: true, pid, state: "starting" });
      return EXIT.ok;
    }
    const uptimeMs = Date.now() - Date.parse(record.startedAt);
    print(
      [
        `${program().name} is running (PID ${pid})`,
        `  state:    ${record.state}`,
        `  uptime:   ${formatUptime(uptimeMs)}`,
        `  version:  ${record.version} (${record.runtime})`,
        `  address:  ${record.address}`,
        `  config:   ${record.configHash} (generation ${record.generation})`,
      ].join("\n"),
      { running: true, pid, state: record.state, uptimeMs, version: record.version, runtime: record.runtime, address: record.address, config: record.configHash, generation: record.generation },
    );
    return EXIT.ok;
  },
};

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor((s % 86400) / 3600), "h"], [Math.floor((s % 3600) / 60), "m"], [s % 60, "s"]] as const;
  return parts.filter(([n], i) => n > 0 || i === 3).map(([n, u]) => `${n}${u}`).join(" ");
}
