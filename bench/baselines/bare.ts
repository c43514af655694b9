// Baseline (a): the least a Bun HTTP server can be, answering what rodent's version route answers.
const body = JSON.stringify({ version: "0.0.0", commit: "baseline", buildTime: new Date().toISOString(), runtime: `bun ${Bun.version}` });
const health = JSON.stringify({ status: "healthy" });
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
Bun.serve({
  port,
  hostname: "127.0.0.1",
  development: false,
  reusePort: false,
  fetch(req) {
    if (req.url.endsWith("/health")) return new Response(health, { headers: { "content-type": "application/json" } });
    return new Response(body, { headers: { "content-type": "application/json" } });
  },
});
process.on("SIGTERM", () => process.exit(0));
