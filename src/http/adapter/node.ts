// @hono/node-server behind the adapter contract. The only file that knows it is on Node.
import type { IncomingMessage, Server } from "node:http";
import type { Listener, ListenOptions } from "./types";
import { formatAddress, ListenError } from "./types";

export async function listen(options: ListenOptions): Promise<Listener> {
  if (options.join && !options.socket && options.fd === undefined) {
    // Node 20 has no SO_REUSEPORT for HTTP servers: a successor cannot bind alongside, it must be
    // handed the listening socket.
    throw new ListenError("EJOINUNSUPPORTED", "the Node runtime cannot share a listening port with a successor");
  }
  // Imported here, not at the top: the compiled Bun binary leaves this package out entirely.
  const { createAdaptorServer } = await import("@hono/node-server");
  let inFlight = 0;
  const server = createAdaptorServer({
    // Counted around the handler, as Bun's pendingRequests counts: the asking request included.
    fetch: async (request: Request, env: { incoming: { socket: IncomingMessage["socket"] } }) => {
      inFlight++;
      try {
        return await options.fetch(request, { peer: () => env.incoming.socket.remoteAddress, bindings: env });
      } finally {
        inFlight--;
      }
    },
    serverOptions: {
      keepAliveTimeout: options.idleTimeoutSec * 1000,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: Math.min(options.requestTimeoutMs, 60_000),
    },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(new ListenError(error.code ?? "EUNKNOWN", error.message)));
    if (options.fd !== undefined) server.listen({ fd: options.fd }, resolve);
    else if (options.socket) server.listen(options.socket, resolve);
    else server.listen(options.port, options.host, resolve);
  });
  const bound = server.address();
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
    drain(deadline) {
      draining ??= new Promise((resolve) => {
        // close() alone waits out keepAliveTimeout after the last response; closing idle
        // connections every few ms ends the drain right after the last in-flight request.
        const poll = setInterval(() => {
          server.closeIdleConnections();
          if (Date.now() >= deadline) {
            server.closeAllConnections();
            finish("deadline");
          }
        }, 5);
        const finish = (outcome: "drained" | "deadline") => {
          clearInterval(poll);
          resolve(outcome);
        };
        server.close(() => finish("drained"));
        server.closeIdleConnections();
      });
      return draining;
    },
  };
}
