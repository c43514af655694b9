// @hono/node-server behind the adapter contract. The only file that knows it is on Node.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Http2Bindings, HttpBindings } from "@hono/node-server";
import { UNIX_PEER } from "../trust";
import type { ConnEnv, Listener, ListenOptions } from "./types";
import { formatAddress, ListenError } from "./types";

/** What we track per connection: Node 20 forgets sockets that have not sent a request yet. */
interface Connection {
  /** Read when the connection is accepted: once the peer resets it, remoteAddress is undefined. */
  peer: string | undefined;
  /** Requests whose response has not finished (pipelined ones included). */
  active: number;
  /** Whether a whole request has arrived on it yet. */
  requested: boolean;
  /** When it was accepted (epoch ms). */
  since: number;
}

/**
 * How long, during a drain, a connection that has not sent a whole request yet may still send one
 * (Go's Shutdown allows 5 s): one accepted just before the listener closed gets its answer (with
 * Connection: close), one that has sat silent longer (a pre-connect, a TCP probe, a slow client)
 * is closed.
 */
const NEW_CONNECTION_GRACE_MS = 1000;

export async function listen(options: ListenOptions): Promise<Listener> {
  if (options.join && !options.socket && options.fd === undefined) {
    // Node 20 has no SO_REUSEPORT for HTTP servers: a successor cannot bind alongside, it must be
    // handed the listening socket.
    throw new ListenError("EJOINUNSUPPORTED", "the Node runtime cannot share a listening port with a successor");
  }
  // Imported here, not at the top: the compiled Bun binary leaves this package out entirely.
  const [{ getRequestListener }, { createServer }] = await Promise.all([import("@hono/node-server"), import("node:http")]);
  let inFlight = 0;
  let requests = 0;
  let unix = Boolean(options.socket);
  const connections = new Map<Socket, Connection>();
  const handle = getRequestListener(
    // Counted around the handler, as Bun's pendingRequests counts: the asking request included.
    async (request: Request, env: HttpBindings | Http2Bindings) => {
      inFlight++;
      requests++;
      try {
        return await options.fetch(request, connEnv(env.incoming as IncomingMessage, env.outgoing as ServerResponse));
      } finally {
        inFlight--;
      }
    },
    // HTTP/1.0 without Host (haproxy's default health check) is valid: give its URL a host.
    { hostname: "localhost" },
  );
  const server = createServer(
    {
      keepAliveTimeout: options.idleTimeoutSec * 1000,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: Math.min(options.requestTimeoutMs, 60_000),
    },
    (incoming, outgoing) => {
      const conn = connections.get(incoming.socket);
      if (conn) {
        conn.active++;
        conn.requested = true;
        // (a pipelined response still queued when the connection dies never emits close; the
        // connection's entry goes with it)
        outgoing.once("close", () => conn.active--);
      }
      void handle(incoming, outgoing);
    },
  );
  server.on("connection", (socket: Socket) => {
    connections.set(socket, { peer: socket.remoteAddress, active: 0, requested: false, since: Date.now() });
    socket.once("close", () => connections.delete(socket));
  });

  /** The app's view of one request's connection, read now, while the socket is still there. */
  function connEnv(incoming: IncomingMessage, outgoing: ServerResponse): ConnEnv {
    const peer = unix ? UNIX_PEER : connections.get(incoming.socket)?.peer ?? incoming.socket.remoteAddress;
    // bindings: Hono's getConnInfo (@hono/node-server/conninfo) reads c.env.incoming
    return { peer: () => peer, settled: (_request, done) => whenSent(incoming.socket, outgoing, done), bindings: { incoming, outgoing } };
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(new ListenError(error.code ?? "EUNKNOWN", error.message)));
    if (options.fd !== undefined) server.listen({ fd: options.fd }, resolve);
    else if (options.socket) server.listen(options.socket, resolve);
    else server.listen(options.port, options.host, resolve);
  });
  const bound = server.address();
  // an inherited descriptor (socket activation) may be a unix socket: address() is its path then
  if (typeof bound === "string") unix = true;
  const port = typeof bound === "object" && bound ? bound.port : undefined;
  const inherited = options.fd !== undefined && typeof bound === "object" && bound ? formatAddress(bound.address, bound.port) : undefined;
  let draining: Promise<"drained" | "deadline"> | undefined;
  // libuv's TCP handle knows its descriptor; a unix socket is handed over by path instead
  const fd = options.socket && options.fd === undefined ? undefined : (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return {
    address: inherited ?? (options.socket ? `unix:${options.socket}` : formatAddress(options.host, port!)),
    port,
    handoverFd: typeof fd === "number" && fd >= 0 ? fd : undefined,
    inFlight: () => inFlight,
    requests: () => requests,
    drain(deadline) {
      draining ??= new Promise((resolve) => {
        // close() alone waits out keepAliveTimeout after the last response, and Node's
        // closeIdleConnections() skips a connection that has not sent a request (a pre-connect, a
        // TCP probe, a half-sent request) for good: every few ms, close each connection that owes
        // no response and is idle after a request or past its grace, until none is left or the
        // deadline cuts the rest.
        const closeIdle = () => {
          const now = Date.now();
          for (const [socket, conn] of connections) {
            if (conn.active <= 0 && (conn.requested || now - conn.since >= NEW_CONNECTION_GRACE_MS)) socket.destroy();
          }
        };
        const poll = setInterval(() => {
          closeIdle();
          if (Date.now() >= deadline) {
            for (const socket of connections.keys()) socket.destroy();
            finish("deadline");
          }
        }, 5);
        const finish = (outcome: "drained" | "deadline") => {
          clearInterval(poll);
          resolve(outcome);
        };
        server.close(() => finish("drained"));
        closeIdle();
      });
      return draining;
    },
  };
}

/**
 * Calls `done(true)` once `outgoing` has been handed to the socket, `done(false)` if the socket
 * closed first (a pipelined response queued behind one that ended with Connection: close, a
 * client that reset): only then may the access log say what the client got.
 */
function whenSent(socket: Socket, outgoing: ServerResponse, done: (sent: boolean) => void): void {
  if (outgoing.writableFinished) return done(true);
  if (socket.destroyed) return done(false);
  const onFinish = () => {
    socket.off("close", onClose);
    done(true);
  };
  const onClose = () => {
    outgoing.off("finish", onFinish);
    done(outgoing.writableFinished);
  };
  outgoing.once("finish", onFinish);
  socket.once("close", onClose);
}
