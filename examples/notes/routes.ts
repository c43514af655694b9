// The HTTP API under /api/v1/notes. Errors use rodent's JSON shape {error, status, requestId},
// and every error names the field or parameter at fault.
import { Hono, type Context } from "hono";
import { problem, type PluginLog, type RodentEnv } from "rodent";
import * as v from "valibot";
import { StoreError, type NotesStore } from "./store";

export const MAX_TEXT = 10_000;
export const MAX_DELAY_MS = 60_000;
const ID = /^[1-9]\d{0,15}$/;

const Text = v.pipe(
  v.string("text: expected a string"),
  v.check((text) => characters(text) >= 1 && characters(text) <= MAX_TEXT, (issue) => `text: expected 1 to ${MAX_TEXT} characters, got ${characters(String(issue.input)) > MAX_TEXT ? "more" : 0}`),
);
const BODY = 'body: expected a JSON object like {"text": "…"}';

export interface RouteOptions {
  /** Development mode (--dev): POST takes ?delayMs=N, to hold writes in flight in tests. */
  dev: boolean;
  log: PluginLog;
}

/** The notes API on `store`; mounted by the store plugin behind rodent's front door. */
export function noteRoutes(store: NotesStore, options: RouteOptions): Hono<RodentEnv> {
  const api = new Hono<RodentEnv>().basePath("/api/v1/notes");

  api.post("/", async (c) => {
    const delay = delayOf(c.req.query("delayMs"), options.dev);
    if (typeof delay === "string") return problem(c, 400, delay);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return problem(c, 400, BODY);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) return problem(c, 400, BODY);
    const text = v.safeParse(Text, (body as { text?: unknown }).text);
    if (!text.success) return problem(c, 400, text.issues[0].message);
    if (delay > 0) {
      options.log.debug(`write held for ${delay} ms (delayMs)`, { event: "write-held", requestId: c.env.requestId });
      // the request's signal fires when the client leaves or just before the shutdown deadline:
      // then nothing is written, and nothing was promised
      if (!(await wait(delay, c.env.signal))) return problem(c, 503, "the note was not stored: the request was cancelled (client gone, timeout or shutdown)");
    }
    return stored(c, () => {
      const note = store.create(text.output);
      return c.json(note, 201, { location: `/api/v1/notes/${note.id}` });
    });
  });

  api.get("/", (c) => {
    const limit = c.req.query("limit") ?? "20";
    if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > 100) return problem(c, 400, `limit: expected a whole number from 1 to 100, got ${JSON.stringify(limit)}`);
    const before = c.req.query("before");
    if (before !== undefined && !ID.test(before)) return problem(c, 400, `before: expected a note id, got ${JSON.stringify(before)}`);
    return stored(c, () => {
      // one more than asked tells whether another page follows
      const notes = store.list(Number(limit) + 1, before === undefined ? undefined : Number(before));
      const more = notes.length > Number(limit);
      if (more) notes.pop();
      const next = more ? `/api/v1/notes?limit=${limit}&before=${notes.at(-1)!.id}` : null;
      return c.json({ notes, next });
    });
  });

  api.get("/:id", (c) => {
    const id = c.req.param("id");
    return stored(c, () => {
      const note = ID.test(id) ? store.get(Number(id)) : undefined;
      return note ? c.json(note) : problem(c, 404, `note ${id} not found`);
    });
  });

  api.delete("/:id", (c) => {
    const id = c.req.param("id");
    return stored(c, () => (ID.test(id) && store.remove(Number(id)) ? c.body(null, 204) : problem(c, 404, `note ${id} not found`)));
  });

  return api;
}

/** Runs a store call; a closed or unwritable store is a 503 with the reason, anything else a 500. */
function stored(c: Context<RodentEnv>, work: () => Response): Response {
  try {
    return work();
  } catch (error) {
    // closed (shutting down), unwritable (disk full, locked) or damaged: the store's own message
    if (error instanceof StoreError) return problem(c, 503, error.message);
    throw error;
  }
}

/** The delay asked for, 0 for none, or the error message naming the parameter. */
function delayOf(raw: string | undefined, dev: boolean): number | string {
  if (raw === undefined) return 0;
  if (!dev) return "delayMs: only in development mode (serve --dev)";
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > MAX_DELAY_MS) return `delayMs: expected milliseconds from 0 to ${MAX_DELAY_MS}, got ${JSON.stringify(raw)}`;
  return Number(raw);
}

/** True after `ms`, false as soon as `signal` fires. */
function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(slept);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort);
  });
}

/** Unicode code points, counted up to one past the limit. */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) if (++n > MAX_TEXT) break;
  return n;
}
