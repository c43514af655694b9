// rodent behind real haproxy (Debian's): its default health check (HTTP/1.0, no Host) sees both
// upstreams UP, and one upstream is sent SIGTERM under load without a request failing.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { freePort, inBothRuntimes, needTool, servedMore, startServer, tempDir, track, waitFor, wrkUntilStopped, type SpawnOptions } from "./helpers";

const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const tools = { haproxy: "haproxy", wrk: "wrk" } as const;
const missing = Object.entries(tools).filter(([bin]) => Bun.which(bin, { PATH }) === null).map(([bin, pkg]) => `${bin} (Debian package ${pkg})`);

/**
 * haproxy in the foreground on a free port with `upstreams` behind `option httpchk GET /ready`,
 * checked every 200 ms, and a stats socket to ask it what it thinks of them.
 */
async function startHaproxy(upstreams: number[], check = "option httpchk GET /ready"): Promise<{ url: string; status(): Promise<Record<string, string>>; stop(): Promise<void> }> {
  const dir = tempDir();
  const port = await freePort();
  const stats = join(dir, "stats.sock");
  writeFileSync(
    join(dir, "haproxy.cfg"),
    [
      "global",
      `  stats socket ${stats} mode 600 level admin`,
      "defaults",
      "  mode http",
      "  timeout connect 2s",
      "  timeout client 30s",
      "  timeout server 30s",
      // generous on a loaded test machine: a slow check must not flap the healthy upstream DOWN
      "  timeout check 2s",
      // an upstream that has just closed its listener refuses connections: try the other one
      "  retries 3",
      "  option redispatch 1",
      "  retry-on conn-failure empty-response",
      "  option forwardfor",
      "frontend web",
      `  bind 127.0.0.1:${port}`,
      "  default_backend rodent",
      "backend rodent",
      // the check the README recommends (GET /ready HTTP/1.0, no Host header), or the one given
      `  ${check}`,
      "  default-server check inter 200ms fall 2 rise 1",
      ...upstreams.map((p, i) => `  server r${i} 127.0.0.1:${p}`),
      "",
    ].join("\n"),
  );
  const proc = Bun.spawn(["haproxy", "-db", "-f", join(dir, "haproxy.cfg")], { stdout: "pipe", stderr: "pipe", env: { ...process.env, PATH } });
  track(proc.pid);
  let output = "";
  void (async () => {
    for await (const chunk of proc.stderr) output += new TextDecoder().decode(chunk);
  })();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try {
      return (await fetch(`${url}/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 15_000, `haproxy on ${url}; its output: ${output}`);
  return {
    url,
    /** Server name → haproxy's view of it (UP, DOWN, ...), from `show stat`. */
    async status() {
      const socket = connect(stats);
      let csv = "";
      socket.on("data", (chunk) => (csv += chunk.toString()));
      await new Promise((r) => socket.once("connect", r));
      socket.write("show stat\n");
      await Promise.race([new Promise((r) => socket.once("close", r)), Bun.sleep(5000)]);
      socket.destroy();
      const [header, ...rows] = csv.replace(/^# /, "").trim().split("\n").map((l) => l.split(","));
      const col = (name: string) => header!.indexOf(name);
      return Object.fromEntries(rows.filter((r) => r[col("pxname")] === "rodent" && r[col("svname")]!.startsWith("r")).map((r) => [r[col("svname")]!, r[col("status")]!]));
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

async function scenario(options: SpawnOptions): Promise<void> {
  // readiness turns 503 at once; the listener stays open past a few health checks (README)
  const env = { ...options.env, RODENT_SERVER_SHUTDOWNDELAY: "1s" };
  const a = await startServer([], { ...options, env });
  const b = await startServer([], { ...options, env });
  const haproxy = await startHaproxy([a.port, b.port]);
  try {
    await waitFor(async () => JSON.stringify(await haproxy.status()) === JSON.stringify({ r0: "UP", r1: "UP" }), 10_000, "both upstreams UP in haproxy");
    const load = wrkUntilStopped(`${haproxy.url}/api/v1/rodent/version`);
    // SIGTERM one upstream once the load reaches both; stop the load once the other carried it on alone
    await servedMore([a, b], 150_000);
    a.signal("SIGTERM");
    await waitFor(async () => (await haproxy.status()).r0 === "DOWN", 10_000, "haproxy marks the stopped upstream DOWN");
    expect(await a.exited()).toBe(0);
    await servedMore([b], 150_000);
    const result = await load.stop();
    if (result.non2xx || result.socketErrors) console.error(result.output);
    expect(result.requests).toBeGreaterThan(1000);
    expect({ non2xx: result.non2xx, socketErrors: result.socketErrors }).toEqual({ non2xx: 0, socketErrors: 0 });
    expect(await haproxy.status()).toEqual({ r0: "DOWN", r1: "UP" });
  } finally {
    await haproxy.stop();
  }
}

describe.if(missing.length === 0)("behind haproxy", () => {
  test("its default check (GET /ready HTTP/1.0, no Host) sees both upstreams UP; SIGTERM to one under load drops nothing", async () => {
    await scenario({});
  });

  test("the same with the Node bundle as the upstreams", async () => {
    await scenario({ runtime: "node" });
  });

  // two haproxies, each waiting out a 3 s shutdownDelay: the runtimes run at the same time
  test("a bare 'option httpchk' (haproxy's own default: OPTIONS / HTTP/1.0) sees both upstreams UP, and a draining one DOWN (bun and node)", async () => {
    await inBothRuntimes(async (runtime) => {
      // the listener stays open through the delay: DOWN comes from the check's 503, not a refusal
      const env = { RODENT_SERVER_SHUTDOWNDELAY: "3s" };
      const a = await startServer([], { runtime, env });
      const b = await startServer([], { runtime, env });
      const haproxy = await startHaproxy([a.port, b.port], "option httpchk");
      try {
        await waitFor(async () => JSON.stringify(await haproxy.status()) === JSON.stringify({ r0: "UP", r1: "UP" }), 10_000, "both upstreams UP in haproxy");
        a.signal("SIGTERM");
        await a.waitForOutput(/drain started|shutting down/);
        await waitFor(async () => (await haproxy.status()).r0 === "DOWN", 10_000, "haproxy marks the draining upstream DOWN");
        expect(await a.exited()).toBe(0);
        expect((await haproxy.status()).r1).toBe("UP");
      } finally {
        await haproxy.stop();
      }
    });
  });

  test("the client address arrives through haproxy's X-Forwarded-For", async () => {
    const a = await startServer(["--dev"]);
    const haproxy = await startHaproxy([a.port]);
    try {
      const seen = (await (await fetch(`${haproxy.url}/debug/request`, { headers: { "x-forwarded-for": "203.0.113.50" } })).json()) as { ip: string };
      // haproxy appends the real peer (127.0.0.1); loopback is trusted, so the claim before it counts
      expect(seen.ip).toBe("203.0.113.50");
    } finally {
      await haproxy.stop();
    }
  });
});

test.if(missing.length > 0)("haproxy and wrk are installed (.ci/run installs them)", () => needTool("haproxy", "wrk"));
