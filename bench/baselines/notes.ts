// Baseline for examples/notes: the example's own routes and store (the same handlers, statements
// and pragmas, bun:sqlite) on bare Hono + Bun.serve, without rodent, so the ratio against
// dist/notes is what the kit costs on a real route.
import { Hono } from "hono";
import { noteRoutes } from "../../examples/notes/routes";
import { NotesStore } from "../../examples/notes/store";

const arg = (name: string) => process.argv[process.argv.indexOf(name) + 1]!;
const store = await NotesStore.open(arg("--database"));
const silent = { info() {}, warn() {}, error() {}, debug() {} };
const app = new Hono().get("/health", (c) => c.json({ status: "healthy" })).route("/", noteRoutes(store, { dev: false, log: silent }));
Bun.serve({
  port: Number(arg("--port")),
  hostname: "127.0.0.1",
  development: false,
  reusePort: false,
  // what the routes read from c.env: a request id only when they answer an error
  fetch: (request) => app.fetch(request, { get requestId() { return crypto.randomUUID(); }, signal: request.signal }),
});
process.on("SIGTERM", () => {
  store.close(1000);
  process.exit(0);
});
