// Baseline (b): Hono on Bun.serve with no middleware, the same routes.
import { Hono } from "hono";

const info = { version: "0.0.0", commit: "baseline", buildTime: new Date().toISOString(), runtime: `bun ${Bun.version}` };
const app = new Hono();
app.get("/health", (c) => c.json({ status: "healthy" }));
app.get("/api/v1/rodent/version", (c) => c.json(info));
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
Bun.serve({ port, hostname: "127.0.0.1", development: false, reusePort: false, fetch: app.fetch });
process.on("SIGTERM", () => process.exit(0));
