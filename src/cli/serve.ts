// `serve`: load the config, start the instance's parts and the app's plugins, mark ready; the
// kernel unwinds it all in CLOSE_ORDER on shutdown. With -d, hand over to a detached child and
// report whether it started.
import { resolve } from "node:path";
import { loadConfig, type ConfigInput, type LoadedConfig } from "../config/load";
import { claimDaemonChannel, isDaemonChild, TAKEOVER_ENV } from "../daemon/channel";
import { supervised } from "../daemon/supervisor";
import { resolvePidPath } from "../instance/paths";
import { VERSION } from "../build-info";
import { EXIT } from "../kernel/exit-codes";
import { Kernel } from "../kernel/kernel";
import { Logger } from "../log/logger";
import { writeStderr } from "../log/sink";
import { runtimeName } from "../http/adapter";
import { PluginHost } from "../plugin/host";
import { program } from "../program";
import { compose, type Instance } from "../service/instance";
import { handoverPart } from "../service/handover";
import { httpPart, httpSettings } from "../service/http";
import { InstanceMetrics } from "../service/metrics";
import { pidFilePart } from "../service/pid-file";
import { pluginsPart } from "../service/plugins";
import { acceptReloads } from "../service/reload";
import { statusPart } from "../service/status";
import { systemdPart } from "../service/systemd";
import type { Command } from "./command";
import { configFlags, configInput } from "./config-flags";
import { logFilePath } from "./log-path";

export const serve: Command = {
  name: "serve",
  summary: "Run the HTTP daemon in the foreground (or detached with -d).",
  flags: {
    ...configFlags,
    detach: { type: "boolean", short: "d", description: "run in the background; return once the daemon is ready" },
  },
  details:
    "Signals: SIGTERM/SIGINT drain and exit 0 (a second one forces exit), SIGHUP reloads the config file,\nSIGUSR1 reopens the log file.",
  async run({ flags, app }) {
    const input = configInput(flags, app);
    const loaded = await loadConfig(input).catch((error: unknown) => {
      logStartFailure(flags["log-file"] as string | undefined, error);
      throw error;
    });
    const channel = claimDaemonChannel();
    if ((flags.detach || loaded.config.server.daemonize) && !channel && !isDaemonChild() && !supervised()) {
      return detachDaemon(loaded);
    }
    await runInstance(input, loaded, app.plugins, (flags.detach || loaded.config.server.daemonize) && supervised());
    return new Promise<number>(() => {}); // the kernel ends the process
  },
};

/**
 * A config that cannot be loaded fails before the instance has a logger: with --log-file (nobody
 * may read stderr, as under start-stop-daemon --background) the failure goes to that file too,
 * unless it is stderr itself; the command line still prints the one line on stderr. Never throws.
 */
function logStartFailure(file: string | undefined, error: unknown): void {
  if (!file) return;
  try {
    const logger = new Logger({ level: "info", format: undefined, file });
    if (!logger.sink.sameFileAs(2)) logger.tagged(program().name).error(`start-up failed: ${error instanceof Error ? error.message : String(error)}`, { event: "start-failed" });
    logger.flushBeforeExit();
  } catch {
    // the log file cannot be opened either: stderr is all there is
  }
}

async function detachDaemon(loaded: LoadedConfig): Promise<number> {
  const pidPath = resolvePidPath(loaded.config.server.pidFile, process.env);
  const asFile = { ...loaded.config, logs: { ...loaded.config.logs, output: "file" as const } };
  const logFile = resolve(logFilePath(asFile)!);
  // The child runs in "/": hand it absolute paths for everything it reads or writes.
  const args = [...process.argv.slice(2), "--pid-file", pidPath, "--log-file", logFile];
  if (loaded.file) args.push("--config", loaded.file);
  if (loaded.config.server.socket) args.push("--socket", resolve(loaded.config.server.socket));
  // loaded only here: child_process is not needed by a foreground instance
  const { detach } = await import("../daemon/detach");
  const { pid, address } = await detach({ args, logFile, readyTimeoutMs: 30_000 });
  process.stdout.write(`${program().name} is running as a daemon (PID ${pid}) on ${address}; logs: ${logFile}\n`);
  return EXIT.ok;
}

async function runInstance(input: ConfigInput, loaded: LoadedConfig, plugins: Instance["plugins"], stayedInForeground: boolean): Promise<void> {
  const config = () => loaded.config;
  const logFile = logFilePath(config());
  const logger = new Logger({ level: config().server.logLevel, format: config().logs.format, file: logFile });
  const { name, version } = program();
  const log = logger.tagged(name);
  const channel = claimDaemonChannel();
  const kernel = new Kernel({
    log,
    shutdownTimeoutMs: config().server.shutdownTimeout,
    exit: (code) => {
      // a no-op once "ready" was sent
      channel?.send({ kind: "failed", message: `the daemon stopped (exit ${code}) before it was ready; see ${logFile ?? "its log"}` });
      logger.flushBeforeExit();
      process.exit(code);
    },
  });
  kernel.catchFatalErrors();
  log.info(`${name} ${version} starting`, {
    event: "start",
    version,
    ...(name === "rodent" ? {} : { rodent: VERSION }),
    pid: process.pid,
    runtime: runtimeName(),
    config: loaded.file ?? "built-in defaults",
  });
  if (stayedInForeground) log.info("under a supervisor (NOTIFY_SOCKET/INVOCATION_ID): staying in the foreground", { event: "no-detach" });
  for (const w of loaded.warnings) log.warn(`${w.source}: ${w.key}: ${w.message}`, { event: "config-warning" });

  const instance: Instance = {
    kernel, logger, log, input, plugins, loaded, settings: httpSettings(loaded), generation: 1,
    pidPath: resolvePidPath(config().server.pidFile, input.env),
    lock: undefined, predecessor: takeoverTarget(), channel, address: "(not listening yet)",
    listener: undefined, host: undefined, lastReload: undefined, lastHandover: undefined,
    publish: () => {}, metrics: new InstanceMetrics(),
  };
  instance.metrics.collectOwn(instance);
  instance.host = new PluginHost({
    plugins,
    // development.enabled needs a restart, so the value at start holds for the instance's life
    app: { ...program(), development: instance.loaded.config.development.enabled },
    log: (tag) => logger.tagged(tag),
    config: () => instance.loaded.config as unknown as Record<string, unknown>,
    instance: {
      state: () => kernel.state,
      uptimeMs: () => kernel.uptimeMs,
      inFlight: () => instance.listener?.inFlight() ?? 0,
      scopes: () => kernel.root.describe(),
      config: () => ({ hash: instance.loaded.hash, generation: instance.generation, file: instance.loaded.file ?? null, values: instance.loaded.config as unknown as Record<string, unknown>, origins: Object.fromEntries(instance.loaded.origins) }),
    },
    metrics: (plugin) => instance.metrics.registry.forPlugin(plugin, (message) => logger.tagged(plugin).warn(message, { event: "metric-series-capped" })),
    stopping: () => kernel.state === "draining" || kernel.state === "stopped",
    fail: (reason) => void kernel.shutdown(reason, EXIT.failure),
  });

  kernel.onReopen(() => {
    const failed = logger.sink.reopen();
    if (failed) {
      // the line below lands in the old file only: say it where a person looks, too
      log.error(`${failed.message}; still writing to the old file`, { event: "log-reopen-failed", path: logger.sink.path });
      writeStderr(`${name}: ${failed.message}; still writing to the old file\n`);
    } else {
      log.info("log file reopened", { event: "log-reopened", path: logger.sink.path ?? "stdout" });
    }
    instance.publish();
  });

  try {
    // Started in this order; closed in CLOSE_ORDER whatever the order here.
    await compose(instance, [pidFilePart(), statusPart(), systemdPart(), httpPart(), pluginsPart(), handoverPart()]);
  } catch (error) {
    // a failed start leaves nothing behind: what the parts and plugins acquired is released now
    await releaseAll(kernel, config().server.shutdownTimeout);
    // Under start-stop-daemon --background or with --log-file nobody may read stderr: the log says
    // it too, unless stderr is the log itself (a daemon child, 2>&1, a terminal); main prints the line.
    if (!logger.sink.sameFileAs(2)) log.error(`start-up failed: ${error instanceof Error ? error.message : String(error)}`, { event: "start-failed" });
    logger.flushBeforeExit();
    throw error;
  }
  acceptReloads(instance);
  kernel.ready();
  if (kernel.state !== "ready") return; // a signal arrived during start-up: the drain is under way
  log.info("ready", { event: "ready", sinceExecMs: Math.round(process.uptime() * 1000), address: instance.address });
  channel?.send({ kind: "ready", pid: process.pid, address: instance.address });
}

/** Closes every scope within the shutdown budget, then runs what is critical (the PID file) regardless. */
async function releaseAll(kernel: Kernel, budgetMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([kernel.root.close("start-up failed", Date.now() + budgetMs), new Promise((r) => (timer = setTimeout(r, budgetMs)))]);
  clearTimeout(timer);
  kernel.root.runCritical("start-up failed");
}

function takeoverTarget(): number | undefined {
  const raw = process.env[TAKEOVER_ENV];
  delete process.env[TAKEOVER_ENV];
  return raw ? Number(raw) : undefined;
}
