// Bun.serve behind the adapter contract. The only file that knows it is on Bun.
import { isIP, UNIX_PEER } from "../trust";
import type { ConnEnv, Listener, ListenOptions } from "./types";
import { formatAddress, ListenError } from "./types";
import { stopAccepting } from "./stop-accepting";

export async function listen(options: ListenOptions): Promise<Listener> {
  if (options.fd !== undefined) {
    // Bun.serve has no way to listen on an inherited descriptor: given one, it binds another port.
    throw new ListenError("EFDUNSUPPORTED", "Bun.serve cannot listen on an inherited socket");
  }
  // Bun 1.4.5 reports a host name it cannot resolve with whatever errno came before (EEXIST,
  // EADDRINUSE: "port in use" for a typo): resolve a name first, and say that it does not resolve.
  if (!options.socket && isIP(options.host.replace(/^\[(.*)\]$/, "$1")) === 0) {
    try {
      await Bun.dns.lookup(options.host);
    } catch (error) {
      throw new ListenError("ENOTFOUND", (error as Error).message);
    }
  }
  let server: ReturnType<typeof Bun.serve>;
  // what a relative URL is resolved against: this listener's own address
  let host = "localhost";
  const relative = (request: Request) => {
    // the rebuilt request is not one requestIP() knows: read the peer from the original
    const peer = env.peer(request);
    return options.fetch(new Request(`http://${host}${request.url}`, request), { peer: () => peer, awaiting: (_, ms) => awaiting(request, ms), bindings: env.bindings });
  };
  // One env for every request: no per-request allocation on the hot path. requestIP() answers
  // null once the peer has reset the connection: the app asks as the request arrives.
  // Bun's idleTimeout also cuts a handler that has not answered yet: an answer that may take up to
  // server.requestTimeout (its 503 included) keeps its connection open that long (at most 255 s),
  // and the connection gets its idle timeout back with the answer.
  let stretched: Request | undefined;
  let requests = 0;
  const awaiting = (request: Request, ms: number) => {
    if (ms <= options.idleTimeoutSec * 1000) return;
    server.timeout(request, Math.min(255, Math.ceil(ms / 1000) + 1));
    stretched = request;
  };
  const env: ConnEnv = options.socket
    ? { peer: () => UNIX_PEER, awaiting, bindings: {} }
    : { peer: (request) => server.requestIP(request)?.address, awaiting, bindings: {} };
  try {
    const common = {
      // A compiled binary defaults to development mode, whose error page shows the stack.
      development: false,
      // Production mode turns reusePort on by default: a second process would then share the
      // port silently instead of failing with EADDRINUSE.
      reusePort: false,
      idleTimeout: options.idleTimeoutSec,
      // The app answers a declared body over server.bodyLimit with its JSON 413; Bun's own check
      // would answer first with an empty one. No route reads a body.
      maxRequestBodySize: 2 ** 31,
      fetch(request: Request) {
        requests++;
        // HTTP/1.0 without Host (haproxy's default health check) arrives with a relative URL.
        const result = request.url.charCodeAt(0) === 47 ? relative(request) : options.fetch(request, env);
        // awaiting() is called, if at all, before the app returns
        if (stretched !== request) return result;
        stretched = undefined;
        return Promise.resolve(result).finally(() => server.timeout(request, options.idleTimeoutSec));
      },
    };
    const where = options.socket ? { unix: options.socket } : { hostname: options.host, port: options.port };
    const shared = !options.socket && (options.share || options.join);
    if (shared && !options.join && options.port !== 0) {
      // SO_REUSEPORT would let us share a port another program holds: check exclusively first.
      exclusiveCheck(() => Bun.listen({ hostname: options.host, port: options.port, socket: { data() {} } }).stop(true), () => Bun.serve({ ...common, ...where } as Parameters<typeof Bun.serve>[0]).stop(true));
    }
    server = Bun.serve({ ...common, ...where, reusePort: shared } as Parameters<typeof Bun.serve>[0]);
    // Hono's getConnInfo (hono/bun) finds the server here
    env.bindings = { server };
    if (!options.socket) host = formatAddress(options.host, server.port!);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new ListenError(e.code ?? "EUNKNOWN", e.message);
  }
  const port = options.socket ? undefined : server.port;
  let draining: Promise<"drained" | "deadline"> | undefined;
  return {
    address: options.socket ? `unix:${options.socket}` : formatAddress(options.host, port!),
    port,
    inFlight: () => server.pendingRequests,
    requests: () => requests,
    // on a unix socket, a successor takes the path over instead (see startListener's promote)
    stopAccepting: options.socket ? undefined : () => stopAccepting(port!),
    drain(deadline) {
      draining ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        // Never trust stop() alone to end the drain: race it against our own deadline, then force.
        const late = new Promise<"deadline">((r) => (timer = setTimeout(() => r("deadline"), Math.max(0, deadline - Date.now()))));
        // stop() also waits for connections that have not finished sending a request (a slowloris
        // client dribbling headers); once no request is being handled, nothing is owed to them.
        const idle = new Promise<"drained">((resolve) => {
          const poll = setInterval(() => {
            if (server.pendingRequests > 0) return;
            clearInterval(poll);
            void server.stop(true).then(() => resolve("drained"));
          }, 10);
        });
        const outcome = await Promise.race([server.stop().then(() => "drained" as const), idle, late]);
        clearTimeout(timer);
        if (outcome === "deadline") await Promise.race([server.stop(true), new Promise((r) => setTimeout(r, 100))]);
        return outcome;
      })();
      return draining;
    },
  };
}

/**
 * Binds the port without SO_REUSEPORT for a moment. A bare TCP listener (Bun.listen) costs less
 * start-up than a second HTTP server; it decides only "in use". On any other failure (Bun.listen
 * takes no bracketed [::1], for one) the HTTP server's own check runs, so what is accepted and
 * every other error stay as Bun.serve has them.
 */
function exclusiveCheck(tcp: () => void, http: () => void): void {
  try {
    tcp();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") throw error;
    http();
  }
}
