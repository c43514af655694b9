// The cost ladder: bare Bun.serve (baseline a) plus one thing rodent does per request, chosen by
// --add, so the runner can price each in CPU time per request on the runtime alone.
const body = JSON.stringify({ version: "0.0.0", commit: "baseline", buildTime: new Date().toISOString(), runtime: `bun ${Bun.version}` });
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
const add = (process.argv.includes("--add") && process.argv[process.argv.indexOf("--add") + 1]) || "nothing";
const json = { "content-type": "application/json" };

type Handler = (req: Request) => Response;
const handlers: Record<string, Handler> = {
  // baseline (a) exactly: the URL is read to route
  nothing: (req) => new Response(body, { headers: json }),
  // read the client's X-Request-Id (the first header read builds Bun's Headers object)
  "read-request-id": (req) => {
    if (req.headers.get("x-request-id") === "") throw new Error("unreachable");
    return new Response(body, { headers: json });
  },
  // read it, make a UUID when absent, and echo it as a response header
  "request-id": (req) => {
    const id = req.headers.get("x-request-id") ?? crypto.randomUUID();
    return new Response(body, { headers: { ...json, "x-request-id": id } });
  },
  // the peer's address, which the access log needs
  "peer-address": (req) => {
    if (server.requestIP(req)?.address === "") throw new Error("unreachable");
    return new Response(body, { headers: json });
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
process.on("SIGTERM", () => process.exit(0));

export {};
