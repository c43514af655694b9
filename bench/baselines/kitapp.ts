// An application route mounted through the kit (rodent(app) + definePlugin), serving the same
// pre-serialised JSON as rodent's own /api/v1/rodent/version, to compare their cost per request.
import { Hono } from "hono";
import { definePlugin, rodent } from "rodent";

const route = definePlugin({
  name: "bench",
  start(ctx) {
    const text = JSON.stringify({ version: ctx.app.version, commit: "bench", buildTime: new Date().toISOString(), runtime: `bun ${Bun.version}` });
    return { routes: new Hono().get("/api/v1/app/version", (c) => c.body(text, 200, { "content-type": "application/json" })) };
  },
});

void rodent({ name: "benchapp", plugins: [route] });
