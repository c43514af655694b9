// notes: a small notes service on rodent. One plugin, `store`, owns the SQLite database: opened
// in start, closed after the HTTP drain; the HTTP API, the sweeper worker and the readiness
// check all go through it. Build: `bun build.ts --entry examples/notes/main.ts --name notes`.
import { definePlugin, rodent } from "rodent";
import { storeSection } from "./config";
import { noteRoutes } from "./routes";
import { NotesStore, SYNCHRONOUS } from "./store";
import { sweeper } from "./sweeper";

const store = definePlugin({
  name: "store",
  // the database is opened at start: a new path is logged by rodent and waits for a restart
  section: { schema: storeSection, restart: ["database"] },
  async start(ctx) {
    // holds /ready at 503 until the database is open and migrated
    const notes = await NotesStore.open(ctx.config().database);
    ctx.log.info(`database open: ${notes.path}`, { event: "database-open", path: notes.path, schema: notes.schema, synchronous: SYNCHRONOUS });
    // runs after the HTTP drain: every request that was answered has finished writing
    ctx.scope.defer("database", ({ timeLeftMs }) => {
      const started = Date.now();
      const checkpoint = notes.close(timeLeftMs);
      ctx.log.info(`database closed: ${notes.path}`, { event: "database-closed", checkpoint, durationMs: Date.now() - started });
    });

    const sweeps = sweeper(notes, ctx.config, ctx.log);
    ctx.run("sweeper", sweeps.run);

    return {
      routes: noteRoutes(notes, { dev: ctx.app.development, log: ctx.log }),
      ready: () => notes.checkWritable(),
      reload(next, previous) {
        if (next.sweepInterval !== previous.sweepInterval) sweeps.reschedule(next.sweepInterval);
      },
    };
  },
});

void rodent({ name: "notes", plugins: [store] });
