// The process_* families under the names Prometheus' own client libraries use, read when a scrape
// asks: from /proc/self on Linux (capped, non-blocking reads), else what the runtime knows.
import { readdirSync } from "node:fs";
import { readOr, rss } from "../instance/usage";
import type { Family } from "./exposition";

/** Linux's USER_HZ: /proc counts times in these ticks on every architecture. */
const TICKS_PER_SECOND = 100;

let startTime: number | undefined;

/** CPU time, memory, descriptors and start time of this process; a family /proc cannot tell is left out. */
export function processFamilies(): Family[] {
  const families: Family[] = [];
  const gauge = (name: string, help: string, value: number | undefined) => {
    if (value !== undefined && !Number.isNaN(value)) families.push({ type: "gauge", name, help, series: [{ labels: [], value }] });
  };
  const { user, system } = process.cpuUsage();
  families.push({ type: "counter", name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", series: [{ labels: [], value: (user + system) / 1e6 }] });
  const stat = statFields();
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss("self") ?? process.memoryUsage.rss());
  gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", stat ? Number(stat[20]) : undefined);
  gauge("process_open_fds", "Number of open file descriptors.", openFds());
  gauge("process_max_fds", "Maximum number of open file descriptors.", maxFds());
  gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", (startTime ??= bootStart(stat) ?? Math.round(Date.now() / 1000 - process.uptime())));
  return families;
}

/** /proc/self/stat's fields after the command name (which may hold spaces and parentheses): state is [0]. */
function statFields(): string[] | undefined {
  const stat = readOr("/proc/self/stat", 4096);
  const end = stat.lastIndexOf(")");
  return end < 0 ? undefined : stat.slice(end + 2).split(" ");
}

/** The boot time (/proc/stat btime) plus the process's start in ticks after boot (stat field 22). */
function bootStart(stat: string[] | undefined): number | undefined {
  const ticks = Number(stat?.[19]);
  // btime comes after one line per CPU and the interrupt counts: 1 MiB holds it on any real host
  const btime = Number(/^btime (\d+)$/m.exec(readOr("/proc/stat", 1024 * 1024))?.[1]);
  return stat && Number.isFinite(ticks) && Number.isFinite(btime) && btime > 0 ? btime + ticks / TICKS_PER_SECOND : undefined;
}

function openFds(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

/** The soft limit on open files ("Max open files  1024  4096  files"); unlimited is +Inf. */
function maxFds(): number | undefined {
  const soft = /^Max open files\s+(\S+)/m.exec(readOr("/proc/self/limits", 8192))?.[1];
  if (soft === undefined) return undefined;
  return soft === "unlimited" ? Infinity : Number(soft);
}
