// Binds the HTTP listener inside a scope and registers its drain: the one place that turns
// listen failures into errors a user can act on and owns the unix socket file.
import { chmodSync, lstatSync, renameSync, unlinkSync } from "node:fs";
import { RodentError } from "../errors";
import { DeadlineError, type Scope } from "../kernel/scope";
import { listen, ListenError, type Listener, type ListenOptions } from "./adapter";
import { program } from "../program";

export class ListenFailedError extends RodentError {}

export interface DrainPolicy {
  /** Wait this long after readiness turns 503 before closing the listener. */
  delayMs(): number;
  /** A restart's successor took over and serves the same address: hand over, then drain. */
  handingOver(): boolean;
  log(message: string, fields: Record<string, unknown>): void;
}

/**
 * Handing over, the old instance stops accepting and then serves its open connections (every
 * response saying Connection: close) until none has sent a request for this long, so a keep-alive
 * client that got its last answer before the hand-over is not cut while its next request is on
 * the way (Bun's stop() closes a connection whose request is still unread as idle: a reset).
 */
export const HANDOVER_QUIET_MS = 1000;
/** Where the listener cannot stop accepting alone (the Node bundle on TCP), it stays open this long instead. */
export const HANDOVER_GRACE_MS = 300;

/**
 * Listens as `options` say and defers, in `scope`, the graceful drain: wait the shutdown delay,
 * stop accepting, let in-flight requests finish, close idle connections, and at the scope's
 * deadline cut what remains. A unix socket file is removed on close (only our own).
 */
export interface ServingListener extends Listener {
  /**
   * For a restart's successor on a unix socket: moves its socket (bound at a private path) over
   * the public path in one rename(), so new connections reach it from then on. A no-op otherwise.
   */
  promote(): void;
}

export async function startListener(scope: Scope, options: ListenOptions & { socketMode: string }, policy: DrainPolicy): Promise<ServingListener> {
  const publicSocket = options.fd === undefined ? options.socket : undefined;
  // A successor binds beside its predecessor: on a unix socket, at a private path until promoted.
  const bindSocket = publicSocket && options.join ? `${publicSocket}.successor-${process.pid}` : publicSocket;
  if (bindSocket) await clearStaleSocket(bindSocket);
  let listener: Listener;
  try {
    listener = await listen({ ...options, socket: bindSocket ?? options.socket });
  } catch (error) {
    if (error instanceof ListenError) throw explain(error, options);
    throw error;
  }
  let promote = () => {};
  if (publicSocket && bindSocket) {
    const ino = lstatSync(bindSocket).ino;
    chmodSync(bindSocket, parseInt(options.socketMode, 8));
    scope.defer("socket-file", () => {
      removeIfSame(bindSocket, ino);
      removeIfSame(publicSocket, ino);
    }, { critical: true });
    if (bindSocket !== publicSocket) promote = () => renameSync(bindSocket, publicSocket);
  }
  scope.defer("http-drain", async ({ timeLeftMs }) => {
    const deadline = Date.now() + timeLeftMs;
    const delay = Math.min(policy.delayMs(), timeLeftMs);
    if (delay > 0) {
      policy.log(`waiting ${delay} ms (server.shutdownDelay) before closing the listener`, { event: "drain-delay", delayMs: delay });
      await sleep(delay);
    }
    if (policy.handingOver()) await handOver(listener, Boolean(publicSocket && bindSocket), deadline, policy);
    const started = Date.now();
    policy.log("drain started", { event: "drain-started", inFlight: listener.inFlight(), address: listener.address });
    const outcome = await listener.drain(deadline);
    if (outcome === "deadline") throw new DeadlineError(`the drain (${listener.inFlight()} requests in flight were cut)`);
    policy.log("drained", { event: "drained", durationMs: Date.now() - started });
  });
  return { ...listener, address: publicSocket ? `unix:${publicSocket}` : listener.address, promote };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The old instance's part of a hand-over, before its drain: stop accepting (on a unix socket the
 * successor has moved its own socket over the path already), then wait until no request has
 * arrived for HANDOVER_QUIET_MS or the deadline. Where the listener cannot stop accepting alone,
 * it keeps accepting for HANDOVER_GRACE_MS instead, as every response says Connection: close.
 */
async function handOver(listener: Listener, pathTakenOver: boolean, deadline: number, policy: DrainPolicy): Promise<void> {
  const refused = pathTakenOver ? undefined : listener.stopAccepting ? listener.stopAccepting() : "the runtime cannot stop accepting alone";
  if (refused !== undefined) {
    const grace = Math.min(HANDOVER_GRACE_MS, Math.max(0, deadline - Date.now()));
    policy.log(`handing over: the listener stays open ${grace} ms more (${refused})`, { event: "handover-grace", graceMs: grace, reason: refused });
    await sleep(grace);
    return;
  }
  const started = Date.now();
  policy.log(`handing over: no longer accepting; serving open connections until none sends a request for ${HANDOVER_QUIET_MS} ms`, { event: "handover-quiet", quietMs: HANDOVER_QUIET_MS });
  const first = listener.requests();
  let seen = first;
  let quietSince = started;
  // Polled: every request arriving resets the clock; one still being handled holds it. A starved
  // process reads what arrived before its timers run, so a request that came meanwhile counts.
  while (Date.now() - quietSince < HANDOVER_QUIET_MS && Date.now() < deadline) {
    await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
    const now = listener.requests();
    if (now !== seen || listener.inFlight() > 0) {
      seen = now;
      quietSince = Date.now();
    }
  }
  policy.log("handed over: open connections quiet", { event: "handover-quiet-done", durationMs: Date.now() - started, requests: seen - first });
}

function explain(error: ListenError, options: ListenOptions): ListenFailedError {
  const where = options.fd !== undefined ? `the inherited socket (fd ${options.fd})` : options.socket ? `unix socket ${options.socket}` : `${options.host}:${options.port}`;
  const unresolved = `host ${options.host} does not resolve to an address: use an IP address such as --host 127.0.0.1, or 0.0.0.0 for all interfaces`;
  const fixes: Record<string, string> = {
    EADDRINUSE: options.socket
      ? "another process listens on it: stop it or choose another server.socket"
      : `port ${options.port} is in use: stop what holds it or choose another with --port`,
    EACCES: options.port < 1024 && !options.socket ? `ports below 1024 need root or CAP_NET_BIND_SERVICE: use --port 8042 or grant the capability` : "permission denied: choose another address",
    EADDRNOTAVAIL: `address ${options.host} is not available on this machine: use --host 127.0.0.1, or 0.0.0.0 for all interfaces`,
    // a host name that does not resolve (Node: getaddrinfo ENOTFOUND, or EAI_AGAIN with no DNS server; Bun: see its adapter)
    ENOTFOUND: unresolved,
    EAI_AGAIN: unresolved,
    ENOENT: "its directory does not exist: create it or choose another server.socket",
    EJOINUNSUPPORTED: `${program().name} restart needs the Bun binary (Node 20 cannot share the port); stop and start the Node bundle instead`,
    EFDUNSUPPORTED: "the Bun binary cannot use socket activation (Bun.serve would bind another port instead): run the Node bundle (node rodent.mjs serve) or drop the .socket unit",
  };
  return new ListenFailedError(`cannot listen on ${where}: ${fixes[error.code] ?? error.message}`);
}

/** A socket file left by a killed instance blocks bind; remove it only if nobody answers on it. */
async function clearStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new ListenFailedError(`cannot listen on unix socket ${path}: a file that is not a socket is there; remove it or choose another server.socket`);
  const { connect } = await import("node:net");
  const answered = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    const timer = setTimeout(() => (probe.destroy(), resolve(true)), 1000);
    probe.once("connect", () => (clearTimeout(timer), probe.destroy(), resolve(true)));
    probe.once("error", () => (clearTimeout(timer), resolve(false)));
  });
  if (answered) throw new ListenFailedError(`cannot listen on unix socket ${path}: another process listens on it; stop it or choose another server.socket`);
  try {
    unlinkSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return; // removed meanwhile
    // EPERM: another user's socket in a sticky directory; EACCES: a directory we may not write
    const why = code === "EPERM" || code === "EACCES" ? `it belongs to uid ${stat.uid} and this user may not remove it` : code;
    throw new ListenFailedError(`cannot listen on unix socket ${path}: a stale socket file is there (nobody answers on it), but ${why}: remove it as its owner or root, or choose another server.socket`);
  }
}

function removeIfSame(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}
