// The cost ladder: bare Bun.serve (baseline a) plus one thing rodent does per request, chosen by
// --add, so the runner can price each in CPU time per request on the runtime alone.
import { compileTrust, clientInfo } from "../../src/http/trust";
import { requestIdFor } from "../../src/http/request-id";
import { redactedTarget, schemeOf } from "../../src/http/target";
import { Logger } from "../../src/log/logger";
import { RequestMetrics } from "../../src/metrics/requests";

const body = JSON.stringify({ version: "0.0.0", commit: "baseline", buildTime: new Date().toISOString(), runtime: `bun ${Bun.version}` });
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const port = Number(arg("--port"));
const add = arg("--add") || "nothing";
const json = { "content-type": "application/json" };
// the access-line steps write where rodent would: a file, through rodent's own logger and sink
const logger = add.startsWith("access") ? new Logger({ level: "info", format: "json", file: arg("--log-file") }) : undefined;
const trusted = compileTrust(["127.0.0.0/8", "::1"]);
const metrics = new RequestMetrics();

type Handler = (req: Request) => Response;
const handlers: Record<string, Handler> = {
  // baseline (a) exactly: the URL is read to route
  nothing: (req) => new Response(body, { headers: json }),
  // read the client's X-Request-Id (the first header read builds Bun's Headers object)
  "read-request-id": (req) => {
    if (req.headers.get("x-request-id") === "") throw new Error("unreachable");
    return new Response(body, { headers: json });
  },
  // read it, make a UUID when absent, and echo it as a response header (rodent before issue 20)
  "request-id": (req) => {
    const id = req.headers.get("x-request-id") ?? crypto.randomUUID();
    return new Response(body, { headers: { ...json, "x-request-id": id } });
  },
  // rodent's request id: the client's when sane, else this process's prefix and a counter; echoed
  "request-id-counter": (req) => {
    const id = requestIdFor(req.headers.get("x-request-id"));
    return new Response(body, { headers: { ...json, "x-request-id": id } });
  },
  // rodent's request counting for /metrics as the front door does it without the access log:
  // the clock before and after, and the counters' increments by method and status class
  "request-metrics": (req) => {
    const started = performance.now();
    const response = new Response(body, { headers: json });
    metrics.record(req.method, response.status, body.length, performance.now() - started);
    return response;
  },
  // the peer's address, which the access log needs
  "peer-address": (req) => {
    if (server.requestIP(req)?.address === "") throw new Error("unreachable");
    return new Response(body, { headers: json });
  },
  // what the runtime gives an access-logged request before rodent formats anything: the request
  // id, the peer, and the fields the line reads from the request
  "access-inputs": (req) => {
    const id = requestIdFor(req.headers.get("x-request-id"));
    const peer = server.requestIP(req)?.address;
    if (peer === "" || req.method === "" || req.url === "" || req.headers.get("user-agent") === "\0") throw new Error("unreachable");
    return new Response(body, { headers: { ...json, "x-request-id": id } });
  },
  // the same plus rodent's own part of the access line, as the app does it: client identity,
  // redacted target, duration, and the logger's record, formatting and write
  "access-line": (req) => {
    const started = performance.now();
    const id = requestIdFor(req.headers.get("x-request-id"));
    const peer = server.requestIP(req)?.address;
    const url = req.url;
    const response = new Response(body, { headers: { ...json, "x-request-id": id } });
    const client = clientInfo(peer, req.headers, trusted, schemeOf(url));
    logger!.access({
      requestId: id,
      method: req.method,
      path: redactedTarget(url),
      status: response.status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      bytes: body.length,
      ip: client.ip,
      scheme: client.scheme,
      userAgent: req.headers.get("user-agent"),
    });
    return response;
  },
};
const handler = handlers[add];
if (!handler) throw new Error(`--add: one of ${Object.keys(handlers).join(", ")}`);
const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  development: false,
  reusePort: false,
  fetch(req) {
    if (req.url.endsWith("/health")) return new Response("{}", { headers: json });
    return handler(req);
  },
});
process.on("SIGTERM", () => {
  logger?.flush();
  process.exit(0);
});

export {};
