// `rodent status`: LSB exit codes, and the live state as the instance itself records it, checked
// against the record's heartbeat so a frozen instance is not reported as ready.
import { readStatusOf, type StatusRecord } from "../instance/status";
import { usageOf, type Usage } from "../instance/usage";
import { EXIT } from "../kernel/exit-codes";
import { ms } from "../config/duration";
import { DURATION_BOUNDS } from "../config/schema";
import { oneLine } from "../log/escape";
import type { Command } from "./command";
import { finish, jsonFlag } from "./outcome";
import { findTarget, targetFlags } from "./target";
import { program } from "../program";

/** A record older than this many heartbeats means the instance no longer runs its event loop. */
const MISSED_HEARTBEATS = 3;
/** ...but never less than this, so scheduling jitter on a busy machine is not mistaken for a hang. */
const MIN_SILENCE_MS = 3000;

export const status: Command = {
  name: "status",
  summary: "Show whether {name} is running (exit 0), stale (1), not running (3) or not responding (4).",
  flags: { ...targetFlags, ...jsonFlag },
  async run({ flags }) {
    const { pidPath, seen } = await findTarget(flags);
    // What the record says was written by the instance's user, who may not be the caller: its
    // strings reach the terminal with every control character escaped (see show(); outcomeJson).
    // Every outcome is a report on stdout, not running too (LSB status).
    const print = (code: number, text: string, data: Record<string, unknown>) => finish("status", flags, code, { text, stream: "stdout", fields: { pidFile: pidPath, ...data } });
    if (seen.kind === "absent") {
      return print(EXIT.notRunning, `${program().name} is not running (no PID file at ${pidPath})`, { running: false });
    }
    if (seen.kind === "stale") {
      return print(EXIT.failure, `${program().name} is not running, but its PID file ${pidPath} remains (${seen.why})`, { running: false, stale: true, why: seen.why });
    }
    if (seen.kind !== "held") return EXIT.failure;
    const { pid, verdict } = seen.holder;
    if (verdict.kind === "unverified") {
      return print(EXIT.statusUnknown, `PID ${pid} named by ${pidPath} is alive but could not be verified as ${program().name} (${verdict.why})`, { running: "unknown", pid, why: verdict.why });
    }
    const read = readStatusOf(pidPath, { pid, uid: verdict.uid });
    if (read.kind === "absent") {
      return print(EXIT.ok, `${program().name} is running (PID ${pid}), state starting`, { running: true, pid, state: "starting" });
    }
    if (read.kind === "refused") {
      return print(EXIT.ok, `${program().name} is running (PID ${pid}), state unknown: its status record was ignored (${read.why})`, { running: true, pid, state: "unknown", why: read.why });
    }
    const record = read.record;
    const silence = silentFor(record);
    if (silence) {
      const text = `${program().name} (PID ${pid}) is not responding: no heartbeat since ${show(record.updatedAt)} (${Math.round(silence.ms / 1000)} s ago; it records one every ${record.heartbeatMs} ms); last state ${show(record.state)}`;
      return print(EXIT.statusUnknown, text, { running: true, responding: false, pid, state: record.state, since: record.updatedAt, silentMs: silence.ms, heartbeatMs: record.heartbeatMs });
    }
    const uptimeMs = Date.now() - Date.parse(record.startedAt);
    // from /proc of the process the PID file names, which was verified above; never from the record
    const usage = usageOf(pid, tcpPort(record.address));
    const reopenError = typeof record.logReopenError === "string" ? record.logReopenError : undefined;
    return print(
      EXIT.ok,
      [
        `${program().name} is running (PID ${pid})`,
        `  state:    ${show(record.state)}`,
        `  uptime:   ${formatUptime(uptimeMs)}`,
        `  version:  ${show(record.version)} (${show(record.runtime)})`,
        `  address:  ${show(record.address)}`,
        `  config:   ${show(record.configHash)} (generation ${record.generation})`,
        ...usageLines(usage, tcpPort(record.address) !== undefined),
        ...(reopenError ? [`  log:      reopening the log file failed: ${show(reopenError)}; still writing to the old file (fix it, then '${program().name} reopen')`] : []),
      ].join("\n"),
      {
        running: true, responding: true, pid, state: record.state, uptimeMs, version: record.version, runtime: record.runtime, address: record.address, config: record.configHash, generation: record.generation,
        rssBytes: usage.rssBytes ?? null, cpuMs: usage.cpuMs ?? null, connections: usage.connections ?? null, ...(reopenError ? { logReopenError: reopenError } : {}),
      },
    );
  },
};

/** A value from the record, on one line with its control characters escaped (no terminal escapes). */
function show(value: string): string {
  return oneLine(value);
}

/** The TCP port of an address like `127.0.0.1:8080` or `[::1]:8080`; undefined for a unix socket. */
function tcpPort(address: unknown): number | undefined {
  const port = typeof address === "string" ? /^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+|[^/:]+):(\d{1,5})$/.exec(address)?.[1] : undefined;
  return port === undefined ? undefined : Number(port);
}

function usageLines(usage: Usage, tcp: boolean): string[] {
  const unknown = "unknown (run as its user or root)";
  return [
    `  memory:   ${usage.rssBytes === undefined ? unknown : `${(usage.rssBytes / 1048576).toFixed(1)} MiB resident`}`,
    `  cpu:      ${usage.cpuMs === undefined ? unknown : `${(usage.cpuMs / 1000).toFixed(2)} s`}`,
    `  clients:  ${!tcp ? "not counted (unix socket)" : usage.connections === undefined ? unknown : `${usage.connections} open connection${usage.connections === 1 ? "" : "s"}`}`,
  ];
}

/** The longest health.interval the schema accepts: a record claiming more is judged by this. */
const MAX_HEARTBEAT_MS = ms(DURATION_BOUNDS["health.interval"][1]);

/**
 * How long the record has gone without its heartbeat, when that is longer than a few intervals.
 * The interval comes from the record: it counts for at most what the schema allows, so a corrupt
 * one cannot keep a frozen instance "ready" for hours (its user can always forge liveness).
 */
export function silentFor(record: Pick<StatusRecord, "heartbeatMs" | "updatedAt">, now = Date.now()): { ms: number } | undefined {
  // Records from before the heartbeat interval was recorded cannot be judged.
  if (typeof record.heartbeatMs !== "number" || !(record.heartbeatMs > 0)) return undefined;
  const silent = now - Date.parse(record.updatedAt);
  return silent > Math.max(MISSED_HEARTBEATS * Math.min(record.heartbeatMs, MAX_HEARTBEAT_MS), MIN_SILENCE_MS) ? { ms: silent } : undefined;
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor((s % 86400) / 3600), "h"], [Math.floor((s % 3600) / 60), "m"], [s % 60, "s"]] as const;
  return parts.filter(([n], i) => n > 0 || i === 3).map(([n, u]) => `${n}${u}`).join(" ");
}
