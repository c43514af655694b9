// `rodent serve`: load the config, take the lock, listen, mark ready; the kernel unwinds it all in
// reverse on shutdown. With -d, hand over to a detached child and report whether it started.
import { resolve } from "node:path";
import { ms } from "../config/duration";
import { loadConfig, type ConfigInput, type LoadedConfig } from "../config/load";
import { attemptReload } from "../config/reload";
import { claimDaemonChannel, claimHandedOverListener, isDaemonChild, TAKEOVER_ENV } from "../daemon/channel";
import { supervised } from "../daemon/supervisor";
import { inspectPidFile, takeLock, takeOverLock, type Lock } from "../instance/lock";
import { RodentError } from "../errors";
import { signalFor } from "../kernel/signals";
import { resolvePidPath } from "../instance/paths";
import { removeStatus, writeStatus, type HandoverOutcome, type ReloadOutcome } from "../instance/status";
import { EXIT } from "../kernel/exit-codes";
import { Kernel } from "../kernel/kernel";
import { Logger } from "../log/logger";
import { writeStderr } from "../log/sink";
import { BUILD_TIME, COMMIT, VERSION } from "../build-info";
import { runtimeName } from "../http/adapter";
import { createApp, type HttpSettings } from "../http/app";
import { startListener } from "../http/listen";
import { compileTrust } from "../http/trust";
import { inheritedListener } from "../systemd/activation";
import { createNotifier } from "../systemd/notify";
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
  async run({ flags }) {
    const input = configInput(flags);
    const loaded = await loadConfig(input).catch((error: unknown) => {
      logStartFailure(flags["log-file"] as string | undefined, error);
      throw error;
    });
    const channel = claimDaemonChannel();
    if ((flags.detach || loaded.config.server.daemonize) && !channel && !isDaemonChild() && !supervised()) {
      return detachDaemon(flags, loaded);
    }
    await runInstance(input, loaded, flags, (flags.detach || loaded.config.server.daemonize) && supervised());
    return new Promise<number>(() => {}); // the kernel ends the process
  },
};

/**
 * A config that cannot be loaded fails before the instance has a logger: with --log-file (nobody
 * may read stderr, as under start-stop-daemon --background) the failure goes to that file too,
 * unless it is stderr itself; main.ts still prints the one line on stderr. Never throws.
 */
function logStartFailure(file: string | undefined, error: unknown): void {
  if (!file) return;
  try {
    const logger = new Logger({ level: "info", format: undefined, file });
    if (!logger.sink.sameFileAs(2)) logger.tagged("rodent").error(`start-up failed: ${error instanceof Error ? error.message : String(error)}`, { event: "start-failed" });
    logger.flushBeforeExit();
  } catch {
    // the log file cannot be opened either: stderr is all there is
  }
}

async function detachDaemon(flags: Record<string, unknown>, loaded: LoadedConfig): Promise<number> {
  const pidPath = resolvePidPath(flags["pid-file"] as string | undefined, process.env, loaded.config.server.pidFile);
  const asFile = { ...loaded.config, logs: { ...loaded.config.logs, output: "file" as const } };
  const logFile = resolve(logFilePath(asFile, flags["log-file"] as string | undefined)!);
  // The child runs in "/": hand it absolute paths for everything it reads or writes.
  const args = [...process.argv.slice(2), "--pid-file", pidPath, "--log-file", logFile];
  if (loaded.file) args.push("--config", loaded.file);
  if (loaded.config.server.socket) args.push("--socket", resolve(loaded.config.server.socket));
  // loaded only here: child_process is not needed by a foreground instance
  const { detach } = await import("../daemon/detach");
  const { pid, address } = await detach({ args, logFile, readyTimeoutMs: 30_000 });
  process.stdout.write(`rodent is running as a daemon (PID ${pid}) on ${address}; logs: ${logFile}\n`);
  return EXIT.ok;
}

async function runInstance(input: ConfigInput, loaded: LoadedConfig, flags: Record<string, unknown>, stayedInForeground: boolean): Promise<void> {
  const config = () => loaded.config;
  const logFile = logFilePath(config(), flags["log-file"] as string | undefined);
  const logger = new Logger({ level: config().server.logLevel, format: config().logs.format, file: logFile });
  const log = logger.tagged("rodent");
  const channel = claimDaemonChannel();
  const kernel = new Kernel({
    log,
    shutdownTimeoutMs: ms(config().server.shutdownTimeout),
    exit: (code) => {
      // a no-op once "ready" was sent
      channel?.send({ kind: "failed", message: `the daemon stopped (exit ${code}) before it was ready; see ${logFile ?? "its log"}` });
      logger.flushBeforeExit();
      process.exit(code);
    },
  });
  kernel.catchFatalErrors();
  log.info(`rodent ${VERSION} starting`, {
    event: "start",
    version: VERSION,
    pid: process.pid,
    runtime: runtimeName(),
    config: loaded.file ?? "built-in defaults",
  });
  if (stayedInForeground) log.info("under a supervisor (NOTIFY_SOCKET/INVOCATION_ID): staying in the foreground", { event: "no-detach" });
  for (const w of loaded.warnings) log.warn(`${w.source}: ${w.key}: ${w.message}`, { event: "config-warning" });
  const status = { publish: () => {} };
  kernel.onReopen(() => {
    const failed = logger.sink.reopen();
    if (failed) {
      // the line below lands in the old file only: say it where a person looks, too
      log.error(`${failed.message}; still writing to the old file`, { event: "log-reopen-failed", path: logger.sink.path });
      writeStderr(`rodent: ${failed.message}; still writing to the old file\n`);
    } else {
      log.info("log file reopened", { event: "log-reopened", path: logger.sink.path ?? "stdout" });
    }
    status.publish();
  });

  try {
    await startInstance(kernel, logger, input, loaded, flags, status);
  } catch (error) {
    // a failed start leaves nothing behind: the lock, the socket and the status record go now
    kernel.root.runCritical("start-up failed");
    // Under start-stop-daemon --background or with --log-file nobody may read stderr: the log says
    // it too, unless stderr is the log itself (a daemon child, 2>&1, a terminal); main.ts prints the line.
    if (!logger.sink.sameFileAs(2)) log.error(`start-up failed: ${error instanceof Error ? error.message : String(error)}`, { event: "start-failed" });
    logger.flushBeforeExit();
    throw error;
  }
}

async function startInstance(kernel: Kernel, logger: Logger, input: ConfigInput, first: LoadedConfig, flags: Record<string, unknown>, status: { publish: () => void }): Promise<void> {
  let loaded = first;
  let generation = 1;
  let lastReload: ReloadOutcome | undefined;
  let lastHandover: HandoverOutcome | undefined;
  const config = () => loaded.config;
  const log = logger.tagged("rodent");
  const channel = claimDaemonChannel();
  const pidPath = resolvePidPath(flags["pid-file"] as string | undefined, input.env, config().server.pidFile);
  const instance = kernel.root.child("instance");
  // A restart's successor binds next to its predecessor and takes the lock over only once ready.
  const predecessor = takeoverTarget();
  let lock: Lock | undefined;
  const holdLock = (taken: Lock) => {
    lock = taken;
    instance.defer(
      "pid-file",
      () => {
        if (taken.release()) return;
        const next = successor(pidPath);
        if (next) log.info(`the PID file now names the successor (PID ${next}); left it to it`, { event: "handed-over", successor: next });
        else log.warn(`the PID file ${pidPath} no longer names this process (changed by hand?); left it alone`, { event: "pid-file-changed" });
      },
      { critical: true },
    );
    instance.defer("status-file", () => removeStatus(pidPath), { critical: true });
  };
  if (predecessor === undefined) holdLock(takeLock(pidPath));
  else if (successor(pidPath) !== predecessor) throw new RodentError(`cannot take over from PID ${predecessor}: the PID file ${pidPath} does not name it`);

  let settings = httpSettings(loaded);
  const startedAt = new Date().toISOString();
  const build = { version: VERSION, commit: COMMIT, buildTime: BUILD_TIME, runtime: runtimeName() };
  let address = "(not listening yet)";
  let inFlight = () => 0;
  const publish = () => {
    if (!lock?.stillHeld()) return;
    const error = writeStatus(pidPath, {
      pid: process.pid, state: kernel.state, version: VERSION, runtime: build.runtime, startedAt,
      address, logFile: logger.sink.path, configHash: loaded.hash, generation, reload: lastReload, handover: lastHandover,
      logReopenError: logger.sink.reopenError,
      heartbeatMs: ms(config().health.interval), shutdownTimeoutMs: ms(config().server.shutdownTimeout),
    });
    if (error) log.warn(`cannot write the status record next to ${pidPath}: ${error.message}`, { event: "status-write-failed" });
  };
  status.publish = publish;

  const app = createApp({
    settings: () => settings,
    state: () => kernel.state,
    build,
    healthFields: () => ({ pid: process.pid, uptimeMs: kernel.uptimeMs, version: VERSION, config: loaded.hash, generation }),
    access: (record) => logger.access(record),
    error: (message, fields) => logger.tagged("http").error(message, fields),
    debugConfig: () => ({ hash: loaded.hash, generation, file: loaded.file ?? null, config: loaded.config, origins: Object.fromEntries(loaded.origins) }),
    debugLifecycle: () => ({ state: kernel.state, uptimeMs: kernel.uptimeMs, inFlight: inFlight(), scopes: kernel.root.describe() }),
  });

  const notifier = await createNotifier(kernel.root, log, predecessor);
  const server = config().server;
  // A predecessor that cannot share its port (the Node bundle) passes its listening socket on.
  const handed = claimHandedOverListener(server.host, server.port, server.socket);
  const listener = await startListener(
    kernel.root.child("http"),
    {
      host: server.host, port: server.port, socket: server.socket && resolve(server.socket), socketMode: server.socketMode,
      fd: inheritedListener() ?? (typeof handed === "object" ? handed.fd : undefined),
      share: true,
      // a socket passed on for an address the config no longer names was closed: bind the new one
      join: predecessor !== undefined && handed !== "elsewhere",
      idleTimeoutSec: Math.min(255, Math.max(1, Math.ceil(ms(server.idleTimeout) / 1000))),
      requestTimeoutMs: ms(server.requestTimeout),
      fetch: app,
    },
    {
      // Handing over to a restart's successor, keep the listener open a moment longer while every
      // response says Connection: close, so busy keep-alive clients leave cleanly instead of
      // racing a close between two requests; the successor takes all new connections meanwhile.
      delayMs: () => Math.max(ms(config().server.shutdownDelay), successor(pidPath) ? HANDOVER_GRACE_MS : 0),
      log: (m, f) => logger.tagged("http").info(m, f),
    },
  );
  address = listener.address;
  inFlight = () => listener.inFlight();
  log.info(`listening on ${address}`, { event: "listening", address });

  kernel.onReload(async () => {
    const seq = (lastReload?.seq ?? 0) + 1;
    const result = await attemptReload(loaded, input, ({ next }) => {
      // build everything that can throw first, then swap: a failure leaves the old config whole
      const nextSettings = httpSettings(next);
      const shutdownTimeoutMs = ms(next.config.server.shutdownTimeout);
      logger.apply({ level: next.config.server.logLevel, format: next.config.logs.format });
      settings = nextSettings;
      kernel.setShutdownTimeout(shutdownTimeoutMs);
      loaded = next;
      generation++;
    });
    const at = new Date().toISOString();
    if (!result.applied) {
      lastReload = { seq, applied: false, at, errors: result.errors };
      log.error(`reload rejected; the running config (${loaded.hash}) stays:\n  ${result.errors.join("\n  ")}`, { event: "reload-rejected", errors: result.errors });
    } else {
      lastReload = { seq, applied: true, at, changed: result.changed, restartNeeded: result.restartNeeded };
      log.info(`reload applied: config ${loaded.hash} (generation ${generation})${result.changed.length ? `, changed ${result.changed.join(", ")}` : ", nothing changed"}`, {
        event: "reload-applied", config: loaded.hash, generation, changed: result.changed,
      });
      if (result.restartNeeded.length) {
        log.warn(`changed keys take effect on the next restart: ${result.restartNeeded.join(", ")}`, { event: "reload-restart-needed", keys: result.restartNeeded });
      }
    }
    publish();
  });
  kernel.onState((state, previous) => {
    if (state !== "stopped") publish();
    if (state === "reloading") notifier?.reloading();
    else if (state === "ready" && previous === "reloading") notifier?.ready(`ready on ${address} (config ${loaded.hash})`);
    else if (state === "draining") {
      // Handed over by a restart, the service is not stopping: the successor is its main process
      // from now on. STOPPING=1 from the main process would put the unit in deactivating.
      const next = successor(pidPath);
      if (next) notifier?.mainPid(next);
      else notifier?.stopping();
    }
  });

  {
    // SIGUSR2 (from `rodent restart`): start the successor here, as this user with this output,
    // and pass it the listening socket where it cannot bind beside this one (Node on TCP).
    const { acceptHandovers } = await import("../daemon/handover");
    acceptHandovers(kernel, {
      listener: listener.handoverFd === undefined ? undefined : { fd: listener.handoverFd, host: server.host, port: server.port },
      log,
      logHint: logger.sink.path ?? "its output",
      handedOver: () => successor(pidPath) !== undefined,
      failed: (error) => {
        lastHandover = { seq: (lastHandover?.seq ?? 0) + 1, at: new Date().toISOString(), error };
        publish();
      },
    });
  }

  // The status record doubles as a heartbeat: refreshed every health.interval (read live).
  let heartbeat: ReturnType<typeof setTimeout> | undefined;
  const beat = () => {
    publish();
    heartbeat = setTimeout(beat, ms(config().health.interval));
    heartbeat.unref?.();
  };
  instance.defer("heartbeat", () => clearTimeout(heartbeat));

  if (predecessor !== undefined) {
    // Listening and ready to serve: take the lock over in one rename, then let the old one drain.
    holdLock(takeOverLock(pidPath, predecessor));
    listener.promote();
    try {
      process.kill(predecessor, signalFor("stop"));
      log.info(`took over from PID ${predecessor}; it is draining`, { event: "took-over", predecessor });
    } catch {
      // it died after the takeover's check: this instance holds the lock and serves all the same
      log.warn(`took over from PID ${predecessor}, which had exited meanwhile`, { event: "took-over", predecessor });
    }
  }
  kernel.ready();
  if (kernel.state !== "ready") return; // a signal arrived during start-up: the drain is under way
  beat();
  log.info("ready", { event: "ready", sinceExecMs: Math.round(process.uptime() * 1000), address });
  channel?.send({ kind: "ready", pid: process.pid, address });
  notifier?.ready(`ready on ${address} (config ${loaded.hash})`);
}

function httpSettings(loaded: LoadedConfig): HttpSettings {
  const c = loaded.config;
  return {
    healthEndpoint: c.health.endpoint,
    accessLog: c.logs.access,
    trusted: compileTrust(c.server.trustProxy),
    debug: c.development.enabled,
    requestTimeoutMs: ms(c.server.requestTimeout),
    bodyLimit: c.server.bodyLimit,
  };
}

const HANDOVER_GRACE_MS = 300;

function takeoverTarget(): number | undefined {
  const raw = process.env[TAKEOVER_ENV];
  delete process.env[TAKEOVER_ENV];
  return raw ? Number(raw) : undefined;
}

/** The PID of the live rodent the PID file names, when that is not this process. */
function successor(pidPath: string): number | undefined {
  try {
    const seen = inspectPidFile(pidPath);
    return seen.kind === "held" && seen.holder.pid !== process.pid ? seen.holder.pid : undefined;
  } catch {
    // unreadable now (EMFILE during a drain under load): no successor is known; never throw into the drain
    return undefined;
  }
}
