// The process_* families under the names Prometheus' own client libraries use, read when a scrape
// asks: from /proc/self on Linux (capped, non-blocking reads), else what the runtime knows.
import { readdirSync } from "node:fs";
import { startTime } from "../instance/identity";
import { readOr, rss, statFields } from "../instance/usage";
import type { Family } from "./exposition";

/** When this process started, in epoch seconds: read once, it never changes. */
let started: number | undefined;

/** CPU time, memory, descriptors and start time of this process; a family /proc cannot tell is left out. */
export function processFamilies(): Family[] {
  const families: Family[] = [];
  const gauge = (name: string, help: string, value: number | undefined) => {
    if (value !== undefined && !Number.isNaN(value)) families.push({ type: "gauge", name, help, series: [{ labels: [], value }] });
  };
  const { user, system } = process.cpuUsage();
  families.push({ type: "counter", name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", series: [{ labels: [], value: (user + system) / 1e6 }] });
  const stat = statFields("self");
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss("self") ?? process.memoryUsage.rss());
  gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", stat ? Number(stat[20]) : undefined);
  gauge("process_open_fds", "Number of open file descriptors.", openFds());
  gauge("process_max_fds", "Maximum number of open file descriptors.", maxFds());
  gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", (started ??= (startTime(process.pid) ?? Date.now() - process.uptime() * 1000) / 1000));
  return families;
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
