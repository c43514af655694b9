// The one contract both runtime adapters implement: listen, drain, close.

/**
 * What the app can ask of the connection a request came on. The request's URL is always absolute
 * (scheme://host/path), also for an HTTP/1.0 request without Host.
 */
export interface ConnEnv {
  /**
   * The peer's IP address, "unix" on a unix socket, or undefined when the runtime no longer knows
   * (the peer reset the connection). Ask it synchronously when the request arrives: later, the
   * connection may be gone.
   */
  peer(request: Request): string | undefined;
  /**
   * The runtime's own fetch bindings (Bun: {server}; @hono/node-server: {incoming, outgoing}),
   * copied into c.env so Hono's runtime helpers (getConnInfo) work on application routes.
   */
  bindings: Record<string, unknown>;
  /**
   * Where the runtime can tell: calls `done(true)` once the response has been handed to the
   * connection, `done(false)` if the connection closed first. Absent: the response is taken as sent.
   */
  settled?(request: Request, done: (sent: boolean) => void): void;
  /**
   * The app will answer `request` within `ms` (server.requestTimeout): where the runtime would
   * cut a connection that has waited that long for its response, it keeps this one open.
   */
  awaiting?(request: Request, ms: number): void;
}

export type FetchHandler = (request: Request, env: ConnEnv) => Response | Promise<Response>;

export interface ListenOptions {
  host: string;
  port: number;
  /** A unix socket path; when set, host and port are ignored. */
  socket: string | undefined;
  /** An inherited listening descriptor (socket activation); when set, host, port and socket are ignored. */
  fd?: number;
  /**
   * Bind host:port so that a successor (rodent restart) can bind it too (SO_REUSEPORT), after
   * checking that nobody holds it yet. Where a runtime cannot, it binds exclusively.
   */
  share?: boolean;
  /** This process is the successor: bind alongside the instance that holds the port now. */
  join?: boolean;
  /** Seconds a keep-alive connection may sit idle (and a client may stall) before it is closed. */
  idleTimeoutSec: number;
  /** Milliseconds a client has to send a whole request (headers and body). */
  requestTimeoutMs: number;
  fetch: FetchHandler;
}

export interface Listener {
  /** "127.0.0.1:8042", "[::1]:8042" or "unix:/path". */
  readonly address: string;
  readonly port: number | undefined;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Requests received so far: unchanged over a while, none arrived meanwhile. */
  requests(): number;
  /**
   * Where the runtime can: stops accepting new connections and leaves the open ones served (a
   * hand-over: the successor sharing the port takes every new one). Returns undefined when done,
   * or why not; then the listener still accepts. Absent where the runtime has no way to.
   */
  stopAccepting?(): string | undefined;
  /**
   * The listening TCP socket's descriptor where this runtime cannot share a port (Node): a restart
   * passes it to the successor instead. Undefined where the successor binds beside (Bun) and on
   * unix sockets.
   */
  readonly handoverFd?: number;
  /**
   * Stops accepting, lets in-flight requests finish and closes idle keep-alive connections.
   * Resolves "drained" when the last connection is gone, or "deadline" at `deadline` (epoch ms),
   * after cutting whatever remains. Safe to call twice.
   */
  drain(deadline: number): Promise<"drained" | "deadline">;
}

/** Thrown for start-up failures a user can fix; the caller adds the address. */
export class ListenError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
