// examples/notes, the service built on the kit, compiled as npm run build does and tested black-box:
// its API, its database across SIGTERM, restart, reload and SIGKILL, its sweeper and readiness.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, BUNDLE, dropRoot, freePort, getJson, migrateQueuedConnections, ROOT, runRodent, spawnRodent, startServer, tempDir, track, waitFor, type SpawnOptions } from "./helpers";
import { loadSqlite } from "../examples/notes/sqlite/node";

let out: string;
let NOTES: string;
let NOTES_MJS: string;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "rodent-notes-"));
  // readable by the unprivileged user the readiness test runs it as
  chmodSync(out, 0o755);
  const build = Bun.spawnSync([process.execPath, "build.ts", "--entry", "examples/notes/main.ts", "--name", "notes", "--out-dir", out], {
    cwd: ROOT,
    env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
  });
  if (build.exitCode !== 0) throw new Error(`building examples/notes failed: ${build.stderr.toString()}`);
  NOTES = join(out, "notes");
  NOTES_MJS = join(out, "notes.mjs");
}, 60_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The helpers' command line with notes in rodent's place (after a setpriv prefix too). */
const asNotes = (cmd: string[]) => cmd.map((part) => (part === BIN ? NOTES : part === BUNDLE ? NOTES_MJS : part));
/** Options that run notes with its database in a private directory under `dir`. */
const notes = (dir: string, options: SpawnOptions = {}): SpawnOptions => ({
  ...options,
  wrap: asNotes,
  env: { HOME: dir, NOTES_STORE_DATABASE: join(dir, "data", "notes.db"), ...options.env },
});

interface Note {
  id: number;
  text: string;
  createdAt: string;
}

const post = (url: string, body: unknown, init: RequestInit = {}) =>
  fetch(`${url}/api/v1/notes`, { method: "POST", headers: { "content-type": "application/json", ...init.headers }, body: typeof body === "string" ? body : JSON.stringify(body), ...init });

/** Every note, following the `next` links from the newest. */
async function allNotes(url: string): Promise<Note[]> {
  const notes: Note[] = [];
  let next: string | null = "/api/v1/notes?limit=100";
  for (let page = 0; next && page < 10_000; page++) {
    const body = (await getJson(`${url}${next}`)) as { notes: Note[]; next: string | null };
    notes.push(...body.notes);
    next = body.next;
  }
  return notes;
}

/**
 * `clients` loops POSTing notes until stop() (each bounded to 20 000 writes): which writes were
 * acknowledged (201, by id) and what failed.
 */
function writeLoad(url: () => string, clients: number, delay?: () => Promise<unknown>) {
  const acked = new Map<number, string>();
  const failed: string[] = [];
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let n = 0; !stopped && n < 20_000; n++) {
      const text = `client ${client} note ${n}`;
      try {
        const res = await post(url(), { text });
        if (res.status === 201) {
          const note = (await res.json()) as Note;
          acked.set(note.id, text);
        } else failed.push(`${res.status} ${await res.text()}`);
      } catch (error) {
        failed.push(String(error));
        if (delay) await delay();
      }
    }
  });
  return {
    acked,
    failed,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** Lines of output with a given event, in order. */
const events = (output: string, event: string) => output.split("\n").filter((line) => line.includes(`"event":"${event}"`));

describe("the notes API", () => {
  test("POST answers 201 with the note and its Location; GET finds it, DELETE removes it, then 404s carry the request id", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir));
    const res = await post(s.url, { text: "buy milk" });
    expect(res.status).toBe(201);
    const note = (await res.json()) as Note;
    expect(note).toEqual({ id: expect.any(Number), text: "buy milk", createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(Math.abs(Date.parse(note.createdAt) - Date.now())).toBeLessThan(10_000);
    expect(res.headers.get("location")).toBe(`/api/v1/notes/${note.id}`);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(await getJson(`${s.url}${res.headers.get("location")}`)).toEqual(note);

    const removed = await fetch(`${s.url}/api/v1/notes/${note.id}`, { method: "DELETE" });
    expect(removed.status).toBe(204);
    const gone = await fetch(`${s.url}/api/v1/notes/${note.id}`, { headers: { "x-request-id": "find-1" } });
    expect(gone.status).toBe(404);
    const goneText = await gone.text();
    expect(JSON.parse(goneText)).toEqual({ error: `note ${note.id} not found`, status: 404, requestId: "find-1" });
    const again = await fetch(`${s.url}/api/v1/notes/${note.id}`, { method: "DELETE", headers: { "x-request-id": "delete-2" } });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ status: 404, requestId: "delete-2" });
    expect((await fetch(`${s.url}/api/v1/notes/abc`)).status).toBe(404);
    // access-logged like rodent's own routes
    // access-logged like rodent's own routes, with the size of the error (rodent's problem() sets it)
    const line = await s.waitForOutput(/\{[^\n]*"requestId":"find-1","method":"GET","path":"\/api\/v1\/notes\/\d+","status":404[^\n]*\}/);
    expect(JSON.parse(line[0]).bytes).toBe(Buffer.byteLength(goneText));
  });

  test("invalid input is a 400 naming the field or parameter, with the request id", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir));
    const cases: Array<[string, Promise<Response>, string]> = [
      ["empty text", post(s.url, { text: "" }), "text: expected 1 to 10000 characters, got 0"],
      ["10 001 characters", post(s.url, { text: "x".repeat(10_001) }), "text: expected 1 to 10000 characters, got more"],
      ["no text", post(s.url, { title: "x" }), "text: expected a string"],
      ["text not a string", post(s.url, { text: 42 }), "text: expected a string"],
      ["not JSON", post(s.url, "{nope"), 'body: expected a JSON object like {"text": "…"}'],
      ["a JSON array", post(s.url, "[1]"), 'body: expected a JSON object like {"text": "…"}'],
      ["delayMs without --dev", fetch(`${s.url}/api/v1/notes?delayMs=10`, { method: "POST", body: '{"text":"x"}' }), "delayMs: only in development mode (serve --dev)"],
      ["limit 0", fetch(`${s.url}/api/v1/notes?limit=0`), 'limit: expected a whole number from 1 to 100, got "0"'],
      ["limit 101", fetch(`${s.url}/api/v1/notes?limit=101`), 'limit: expected a whole number from 1 to 100, got "101"'],
      ["before not an id", fetch(`${s.url}/api/v1/notes?before=yesterday`), 'before: expected a note id, got "yesterday"'],
    ];
    for (const [what, pending, error] of cases) {
      const res = await pending;
      const body = await res.json();
      expect({ what, status: res.status, body }).toEqual({ what, status: 400, body: { error, status: 400, requestId: res.headers.get("x-request-id") } });
    }
    // exactly the limit, counted in characters (code points), not UTF-16 units
    expect((await post(s.url, { text: "😀".repeat(10_000) })).status).toBe(201);
    expect((await post(s.url, { text: "x".repeat(10_000) })).status).toBe(201);
  });

  test("the list is newest first, 20 by default, and its next links page through every note once", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir));
    const ids: number[] = [];
    for (let i = 0; i < 45; i++) ids.push(((await (await post(s.url, { text: `note ${i}` })).json()) as Note).id);
    const first = (await getJson(`${s.url}/api/v1/notes`)) as { notes: Note[]; next: string };
    expect(first.notes.map((n) => n.id)).toEqual(ids.slice(-20).reverse());
    expect(first.next).toBe(`/api/v1/notes?limit=20&before=${ids[25]}`);
    const paged: number[] = [];
    let next: string | null = "/api/v1/notes?limit=7";
    let pages = 0;
    for (; next && pages < 20; pages++) {
      const body = (await getJson(`${s.url}${next}`)) as { notes: Note[]; next: string | null };
      paged.push(...body.notes.map((n) => n.id));
      next = body.next;
    }
    expect(pages).toBe(7);
    expect(paged).toEqual([...ids].reverse());
    expect(((await getJson(`${s.url}/api/v1/notes?limit=100`)) as { notes: Note[]; next: null }).next).toBeNull();
    expect(((await getJson(`${s.url}/api/v1/notes?before=${ids[0]}`)) as { notes: Note[] }).notes).toEqual([]);
  });
});

describe("the database across shutdown, restart and SIGKILL", () => {
  test("20 writes in flight at SIGTERM are all answered 201 and all present after a new start; the database closes after the drain", async () => {
    const dir = tempDir();
    const s = await startServer(["--dev"], notes(dir, { env: { NOTES_SERVER_LOGLEVEL: "debug" } }));
    const held = Array.from({ length: 20 }, (_, i) =>
      fetch(`${s.url}/api/v1/notes?delayMs=1500`, { method: "POST", body: JSON.stringify({ text: `held ${i}` }) }).then(async (r) => ({ status: r.status, note: (await r.json()) as Note })),
    );
    await waitFor(() => events(s.output(), "write-held").length === 20, 5000, "20 held writes in flight");
    s.signal("SIGTERM");
    const answered = await Promise.all(held);
    expect(answered.map((a) => a.status)).toEqual(Array(20).fill(201));
    expect(await s.exited()).toBe(0);
    const output = s.output();
    expect(output).not.toMatch(/database is closed|closed database|request-error/i);
    const order = output.split("\n").map((line) => /"event":"(drained|database-closed|stopped)"/.exec(line)?.[1]).filter(Boolean);
    expect(order).toEqual(["drained", "database-closed", "stopped"]);

    const again = await startServer([], notes(dir));
    for (const { note } of answered) expect(await getJson(`${again.url}/api/v1/notes/${note.id}`)).toEqual(note);
    expect(await again.waitForOutput(/"event":"database-open".*"schema":\{"from":2,"to":2\}/)).toBeTruthy();
  }, 30_000);

  test("a held write is not stored when its client leaves, nor when the shutdown deadline comes first (503, exit 0)", async () => {
    const dir = tempDir();
    const s = await startServer(["--dev", "--shutdown-timeout", "2s"], notes(dir, { env: { NOTES_SERVER_LOGLEVEL: "debug" } }));
    const leaving = new AbortController();
    const gone = fetch(`${s.url}/api/v1/notes?delayMs=60000`, { method: "POST", body: '{"text":"client left"}', headers: { "x-request-id": "leaves-1" }, signal: leaving.signal }).catch(() => "aborted");
    await waitFor(() => events(s.output(), "write-held").length === 1, 5000, "the write held");
    leaving.abort();
    expect(await gone).toBe("aborted");
    await s.waitForOutput(/"requestId":"leaves-1","method":"POST","path":"\/api\/v1\/notes\?delayMs=60000","status":0/); // status 0: the client had gone, no answer was sent (README, access log)
    const held = fetch(`${s.url}/api/v1/notes?delayMs=60000`, { method: "POST", body: '{"text":"cut by the deadline"}' });
    await waitFor(() => events(s.output(), "write-held").length === 2, 5000, "the second write held");
    s.signal("SIGTERM");
    const cut = await held;
    expect(cut.status).toBe(503);
    expect(((await cut.json()) as { error: string }).error).toBe("the note was not stored: the request was cancelled (client gone, timeout or shutdown)");
    expect(await s.exited()).toBe(0);
    const again = await startServer([], notes(dir));
    expect(await allNotes(again.url)).toEqual([]);
  }, 30_000);

  describe("restarts", () => {
    // the successor binds beside its predecessor (SO_REUSEPORT): see migrateQueuedConnections
    migrateQueuedConnections();

    test("a restart while another connection holds the write lock: the successor opens the database (it needs no lock at the current schema) and takes over", async () => {
      const dir = tempDir();
      const port = await freePort();
      const pidFile = join(dir, "notes.pid");
      const options = notes(dir);
      expect((await runRodent(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", join(dir, "notes.log")], options)).code).toBe(0);
      const before = Number(readFileSync(pidFile, "utf8"));
      track(before);
      // a writer that never lets go, as a predecessor under a steady write load nearly never does
      const writer = new Database(join(dir, "data", "notes.db"));
      writer.exec("BEGIN IMMEDIATE");
      try {
        const r = await runRodent(["restart", "--pid-file", pidFile], { ...options, timeoutMs: 45_000 });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
      } finally {
        writer.exec("ROLLBACK");
        writer.close();
      }
      const now = Number(readFileSync(pidFile, "utf8"));
      track(now);
      expect(now).not.toBe(before);
      expect((await post(`http://127.0.0.1:${port}`, { text: "after the lock" })).status).toBe(201);
      expect((await runRodent(["stop", "--pid-file", pidFile], options)).code).toBe(0);
    }, 60_000);

    test("5 restarts under a write load of 16 clients: no failed request, every acknowledged write present, the instances overlapping on the database", async () => {
      const dir = tempDir();
      const port = await freePort();
      const pidFile = join(dir, "notes.pid");
      const log = join(dir, "notes.log");
      const options = notes(dir);
      const started = await runRodent(["serve", "-d", "--port", String(port), "--pid-file", pidFile, "--log-file", log], options);
      expect(started.code).toBe(0);
      const pid = () => Number(readFileSync(pidFile, "utf8"));
      track(pid());
      const url = `http://127.0.0.1:${port}`;
      const load = writeLoad(() => url, 16);
      try {
        await waitFor(() => load.acked.size >= 100, 10_000, "the write load running");
        for (let i = 0; i < 5; i++) {
          const before = load.acked.size;
          const r = await runRodent(["restart", "--pid-file", pidFile], { ...options, timeoutMs: 45_000 });
          expect(r.code).toBe(0);
          track(pid());
          await waitFor(() => load.acked.size >= before + 50, 10_000, "writes acknowledged by the successor");
        }
      } finally {
        await load.stop();
      }
      expect(load.failed).toEqual([]);
      expect(load.acked.size).toBeGreaterThan(500);
      const stored = new Map((await allNotes(url)).map((n) => [n.id, n.text]));
      const missing = [...load.acked].filter(([id, text]) => stored.get(id) !== text);
      expect(missing).toEqual([]);
      expect((await runRodent(["stop", "--pid-file", pidFile], options)).code).toBe(0);
      // six instances each opened and closed the database; each successor opened it while its
      // predecessor still had it open (and wrote): WAL and busy_timeout, not luck, kept every write
      const lines = readFileSync(log, "utf8").split("\n");
      const opens = lines.flatMap((l, i) => (l.includes('"event":"database-open"') ? [i] : []));
      const closes = lines.flatMap((l, i) => (l.includes('"event":"database-closed"') ? [i] : []));
      expect(opens.length).toBe(6);
      expect(closes.length).toBe(6);
      for (let i = 0; i < 5; i++) expect(opens[i + 1]!).toBeLessThan(closes[i]!);
    }, 120_000);
  });

  test("SIGKILL in the middle of a write load, then a new start: the database opens and every acknowledged write is there", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir));
    // after the kill, failures are expected: pause a little before the next try, bounded
    const load = writeLoad(() => s.url, 16, () => Bun.sleep(5));
    await waitFor(() => load.acked.size >= 300, 15_000, "300 writes acknowledged");
    s.signal("SIGKILL");
    expect(await s.exited()).toBe(137);
    await load.stop();
    const acked = new Map(load.acked);
    // the WAL and its index are left behind, as a crash leaves them
    expect(existsSync(join(dir, "data", "notes.db-wal"))).toBe(true);
    // the PID file the kill left behind is recognised as stale
    const again = await startServer([], notes(dir));
    const stored = new Map((await allNotes(again.url)).map((n) => [n.id, n.text]));
    expect([...acked].filter(([id, text]) => stored.get(id) !== text)).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(acked.size);
  }, 60_000);
});

describe("the store section and reload", () => {
  test("retention and sweepInterval change live; an invalid value is rejected with the old kept; a new database waits for the next restart", async () => {
    const dir = tempDir();
    const file = join(dir, "notes.yml");
    const database = join(dir, "data", "notes.db");
    const config = (store: string) => writeFileSync(file, `server:\n  logLevel: debug\nstore:\n  database: ${database}\n${store}`);
    config("  retention: 0s\n  sweepInterval: 1s\n");
    const s = await startServer(["-c", file], notes(dir, { env: { NOTES_STORE_DATABASE: undefined } }));
    const reload = () => runRodent(["reload", "--pid-file", s.pidFile], notes(dir));
    const sweeps = () => events(s.output(), "sweep").length;
    const a = (await (await post(s.url, { text: "kept while retention is 0s" })).json()) as Note;
    const seen = sweeps();
    await waitFor(() => sweeps() >= seen + 2, 6000, "two sweeps");
    expect((await fetch(`${s.url}/api/v1/notes/${a.id}`)).status).toBe(200);

    config("  retention: 1s\n  sweepInterval: 1s\n");
    const applied = await reload();
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("changed store.retention");
    await waitFor(async () => (await fetch(`${s.url}/api/v1/notes/${a.id}`)).status === 404, 6000, "the old note swept");
    await s.waitForOutput(/"msg":"sweep deleted 1 note older than 1s".*"deleted":1,"retention":"1s"/);

    const hash = (await getJson(`${s.url}/health`)).config;
    config("  retention: soon\n  sweepInterval: 1s\n");
    const invalid = await reload();
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("store.retention");
    expect((await getJson(`${s.url}/health`)).config).toBe(hash);
    config("  retention: 1s\n  sweepInterval: 500ms\n");
    const tooOften = await reload();
    expect(tooOften.code).toBe(1);
    expect(tooOften.stderr).toContain("sweepInterval: expected a duration from 1s to 24h");
    // still sweeping with 1s
    const b = (await (await post(s.url, { text: "swept with the old value" })).json()) as Note;
    await waitFor(async () => (await fetch(`${s.url}/api/v1/notes/${b.id}`)).status === 404, 6000, "the note swept with the kept retention");

    // a long interval, then a short one: the sweeper re-plans at once rather than sleeping an hour
    config("  retention: 1s\n  sweepInterval: 1h\n");
    expect((await reload()).code).toBe(0);
    await waitFor(() => events(s.output(), "sweep-planned").some((line) => Number(/"inMs":(\d+)/.exec(line)?.[1]) > 3_000_000), 5000, "a wait of an hour planned");
    const c = (await (await post(s.url, { text: "waits for the next sweep" })).json()) as Note;
    config("  retention: 1s\n  sweepInterval: 1s\n");
    expect((await reload()).code).toBe(0);
    await waitFor(async () => (await fetch(`${s.url}/api/v1/notes/${c.id}`)).status === 404, 6000, "swept after the interval shrank");

    const elsewhere = join(dir, "elsewhere", "notes.db");
    writeFileSync(file, `server:\n  logLevel: debug\nstore:\n  database: ${elsewhere}\n  retention: 1s\n  sweepInterval: 1s\n`);
    const moved = await reload();
    expect(moved.code).toBe(0);
    // a restart key of the plugin's section (section.restart), reported as rodent's own server.port is
    expect(moved.stdout).toMatch(/on the next restart: store\.database\n$/);
    await s.waitForOutput(/changed keys take effect on the next restart: store\.database/);
    const d = (await (await post(s.url, { text: "still in the open database" })).json()) as Note;
    expect((await getJson(`${s.url}/api/v1/notes/${d.id}`)).text).toBe("still in the open database");
    expect(existsSync(elsewhere)).toBe(false);
  }, 60_000);

  test("notes version is package.json's; config print shows the section with its defaults: $STATE_DIRECTORY, /var/lib/notes as root, else $XDG_DATA_HOME/notes or ~/.notes", async () => {
    const dir = tempDir();
    // its name everywhere, and the version of the package.json it is built from
    const version = await runRodent(["version"], { wrap: asNotes });
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.startsWith(`notes ${pkg.version} (rodent ${pkg.version}`)).toBe(true);
    const asRoot = await runRodent(["config", "print"], { wrap: asNotes, env: { HOME: dir } });
    expect(asRoot.code).toBe(0);
    if (process.getuid?.() === 0) expect(asRoot.stdout).toContain('store.database: "/var/lib/notes/notes.db"  # default');
    expect(asRoot.stdout).toContain('store.retention: "0s"  # default');
    expect(asRoot.stdout).toContain('store.sweepInterval: "60s"  # default');
    const user = (cmd: string[]) => [...dropRoot(), ...asNotes(cmd)];
    const home = await runRodent(["config", "print"], { wrap: user, env: { HOME: dir, XDG_DATA_HOME: undefined } });
    expect(home.stdout).toContain(`store.database: "${join(dir, ".notes", "notes.db")}"  # default`);
    const xdg = await runRodent(["config", "print"], { wrap: user, env: { HOME: dir, XDG_DATA_HOME: join(dir, "share") } });
    expect(xdg.stdout).toContain(`store.database: "${join(dir, "share", "notes", "notes.db")}"  # default`);
    // under systemd's StateDirectory=notes, as root or not, the directory systemd made for it
    const state = await runRodent(["config", "print"], { wrap: asNotes, env: { HOME: dir, STATE_DIRECTORY: join(dir, "state") } });
    expect(state.stdout).toContain(`store.database: "${join(dir, "state", "notes.db")}"  # default`);
    const env = await runRodent(["config", "print"], notes(dir, { env: { NOTES_STORE_RETENTION: "7d" } }));
    expect(env.stdout).toContain('store.retention: "7d"  # env NOTES_STORE_RETENTION');
    const bad = await runRodent(["config", "check"], notes(dir, { env: { NOTES_STORE_DATABASE: "notes.db", NOTES_STORE_SWEEPINTERVAL: "0s" } }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("database: expected an absolute path");
    expect(bad.stderr).toContain("sweepInterval: expected a duration from 1s to 24h");
  });

  test("the database directory is created 0700; one writable by others is refused with one line, exit 1", async () => {
    const dir = tempDir();
    const nested = join(dir, "a", "b", "notes.db");
    const s = await startServer([], notes(dir, { env: { NOTES_STORE_DATABASE: nested } }));
    expect(statSync(join(dir, "a")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "a", "b")).mode & 0o777).toBe(0o700);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    const open = join(dir, "notes.db"); // dir is 0777
    const r = await runRodent(["serve", "--port", String(await freePort()), "--pid-file", join(dir, "n.pid")], notes(dir, { env: { NOTES_STORE_DATABASE: open } }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`notes: plugin "store" failed to start: the database directory ${dir} is writable by others (mode 777): chmod 700 ${dir}, or point store.database into a private directory\n`);
    expect(existsSync(open)).toBe(false);
  });

  test("an older schema is migrated at start (user_version); a newer one or a file that is not SQLite is refused with one line", async () => {
    const dir = tempDir();
    const data = join(dir, "data");
    rmSync(data, { recursive: true, force: true });
    Bun.spawnSync(["mkdir", "-m", "700", data]);
    const old = new Database(join(data, "notes.db"));
    old.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL, created_at INTEGER NOT NULL); PRAGMA user_version = 1");
    old.prepare("INSERT INTO notes (text, created_at) VALUES (?, ?)").run("from version 1", Date.now());
    old.close();
    const s = await startServer([], notes(dir));
    await s.waitForOutput(/"event":"database-open".*"schema":\{"from":1,"to":2\}/);
    expect(((await getJson(`${s.url}/api/v1/notes`)) as { notes: Note[] }).notes.map((n) => n.text)).toEqual(["from version 1"]);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    const index = new Database(join(data, "notes.db"), { readonly: true });
    expect(index.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'notes_by_age'").get()).toEqual({ name: "notes_by_age" });
    expect(index.prepare("PRAGMA user_version").get()).toEqual({ user_version: 2 });
    index.close();

    const newer = new Database(join(data, "notes.db"));
    newer.exec("PRAGMA user_version = 7");
    newer.close();
    const serve = () => runRodent(["serve", "--port", "0", "--pid-file", join(dir, "n.pid")], notes(dir));
    const refused = await serve();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`notes: plugin "store" failed to start: ${join(data, "notes.db")} has schema version 7, newer than this notes knows (2): run a newer notes\n`);
    writeFileSync(join(data, "notes.db"), "this is not a database ".repeat(200));
    rmSync(join(data, "notes.db-wal"), { force: true });
    rmSync(join(data, "notes.db-shm"), { force: true });
    const garbage = await serve();
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toBe(`notes: plugin "store" failed to start: ${join(data, "notes.db")} is not an SQLite database: move it away, or point store.database elsewhere\n`);
  });
});

describe("the sweeper", () => {
  test("with retention 2s and sweepInterval 1s an old note disappears and a new one stays", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir, { env: { NOTES_STORE_RETENTION: "2s", NOTES_STORE_SWEEPINTERVAL: "1s", NOTES_SERVER_LOGLEVEL: "debug" } }));
    const old = (await (await post(s.url, { text: "old" })).json()) as Note;
    await waitFor(async () => (await fetch(`${s.url}/api/v1/notes/${old.id}`)).status === 404, 8000, "the old note swept");
    expect(Date.now() - Date.parse(old.createdAt)).toBeGreaterThanOrEqual(2000);
    const fresh = (await (await post(s.url, { text: "new" })).json()) as Note;
    const seen = events(s.output(), "sweep").length;
    await waitFor(() => events(s.output(), "sweep").length > seen, 3000, "a sweep after the new note");
    expect((await fetch(`${s.url}/api/v1/notes/${fresh.id}`)).status).toBe(200);
    expect(s.output()).toMatch(/"msg":"sweep deleted 1 note older than 2s"/);
  });

  test("SIGTERM while the sweeper sleeps between sweeps exits at once, 0", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir, { env: { NOTES_STORE_SWEEPINTERVAL: "1h", NOTES_STORE_RETENTION: "30d" } }));
    const started = Date.now();
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(s.output()).toContain('"event":"database-closed"');
  });

  test("a sweep that throws (the database file overwritten with garbage) ends the process with exit 1 naming the worker", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir, { env: { NOTES_STORE_SWEEPINTERVAL: "1s", NOTES_STORE_RETENTION: "1h" } }));
    expect((await post(s.url, { text: "before the damage" })).status).toBe(201);
    writeFileSync(join(dir, "data", "notes.db"), "garbage ".repeat(4096));
    expect(await s.exited(10_000)).toBe(1);
    expect(s.output()).toMatch(/worker sweeper failed: the database file \S+notes\.db is no longer an SQLite database/);
    expect(s.output()).toMatch(/"plugin":"store","worker":"sweeper"/);
    expect(existsSync(s.pidFile)).toBe(false);
  });
});

describe("readiness", () => {
  test("/ready turns 503 naming the store while the database directory is read-only, and 200 again after; /health stays 200", async () => {
    const dir = tempDir();
    // as root the directory's mode would not stop anything: run as an unprivileged user
    const s = await startServer([], notes(dir, { unprivileged: true }));
    const data = join(dir, "data");
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    chmodSync(data, 0o500);
    try {
      const res = await fetch(`${s.url}/ready`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "not ready", state: "ready", failing: [{ plugin: "store", reason: expect.stringContaining(`cannot write in ${data}`) }] });
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
    } finally {
      chmodSync(data, 0o700);
    }
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });
});

describe("readiness on a full disk", () => {
  // a 1 MiB tmpfs under the database, in the instance's own mount namespace (root only)
  const canMount = process.getuid?.() === 0 && Bun.spawnSync(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]).exitCode === 0;

  test.if(canMount)("/ready turns 503 naming the store while its disk is full, writes answer 503 (never 500), and both recover once space is freed", async () => {
    const dir = tempDir();
    const data = join(dir, "data");
    Bun.spawnSync(["mkdir", "-m", "700", data]);
    const onTmpfs = (cmd: string[]) => ["unshare", "-m", "sh", "-c", `mount -t tmpfs -o size=1m,mode=0700 tmpfs ${data} && exec "$0" "$@"`, ...asNotes(cmd)];
    const s = await startServer([], { ...notes(dir), wrap: onTmpfs });
    expect((await post(s.url, { text: "before the disk filled" })).status).toBe(201);
    // the instance's view of the directory: its own mount namespace, seen through /proc
    const filler = `/proc/${s.pid}/root${data}/filler`;
    try {
      writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
    }
    const full = await fetch(`${s.url}/ready`);
    expect(full.status).toBe(503);
    expect(await full.json()).toEqual({ status: "not ready", state: "ready", failing: [{ plugin: "store", reason: expect.stringContaining("ENOSPC") }] });
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const refused = await post(s.url, { text: "x".repeat(10_000) });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toMatch(/^the database cannot take writes: .*full/);
    rmSync(filler);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    expect((await post(s.url, { text: "after" })).status).toBe(201);
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
  });
});

describe("on Node", () => {
  const hasSqlite = Bun.spawnSync(["node", "-e", "require('node:sqlite')"]).exitCode === 0;
  const nodeVersion = Bun.spawnSync(["node", "-p", "process.version"]).stdout.toString().trim();

  test.if(!hasSqlite)(`the bundle on a Node without node:sqlite (${nodeVersion}) exits 1 with one line naming the Node it needs, leaving nothing`, async () => {
    const dir = tempDir();
    const pidFile = join(dir, "notes.pid");
    const r = await runRodent(["serve", "--port", String(await freePort()), "--pid-file", pidFile], notes(dir, { runtime: "node" }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `notes: plugin "store" failed to start: the Node bundle needs node:sqlite, in Node 22.13 or later (22.5 to 22.12 with --experimental-sqlite); this is Node ${nodeVersion}: upgrade Node or run the compiled binary\n`,
    );
    expect(existsSync(join(dir, "data"))).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });

  test.if(hasSqlite)("the bundle serves the API on node:sqlite and keeps writes across SIGTERM", async () => {
    const dir = tempDir();
    const s = await startServer([], notes(dir, { runtime: "node" }));
    const note = (await (await post(s.url, { text: "on node" })).json()) as Note;
    s.signal("SIGTERM");
    expect(await s.exited()).toBe(0);
    const again = await startServer([], notes(dir, { runtime: "node" }));
    expect(await getJson(`${again.url}/api/v1/notes/${note.id}`)).toEqual(note);
  });

  test("the node:sqlite adapter runs the same statements (on Bun's node:sqlite)", async () => {
    const dir = tempDir();
    const open = await loadSqlite();
    const db = open(join(dir, "adapter.db"));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    expect(Number(insert.run("a").lastInsertRowid)).toBe(1);
    expect(db.prepare("SELECT v FROM t WHERE id = ?").get(1)).toEqual({ v: "a" });
    expect(db.prepare("SELECT v FROM t WHERE id = ?").get(2)).toBeUndefined();
    expect(db.prepare("SELECT v FROM t").all()).toEqual([{ v: "a" }]);
    db.close();
  });
});
