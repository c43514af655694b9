// Running short of resources: file descriptors and a log that cannot be written.
import { describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, freePort, tempDir, track, waitFor } from "../helpers";

describe("resource faults", () => {
  test("with ulimit -n 64, more connections than descriptors are refused gracefully and service recovers", async () => {
    const dir = tempDir();
    const port = await freePort();
    const log = join(dir, "r.log");
    const r = Bun.spawn(["bash", "-c", `ulimit -n 64 && exec "${BIN}" serve --port ${port} --pid-file "${join(dir, "r.pid")}" --log-file "${log}"`], { env: { ...process.env, HOME: dir }, stdout: "ignore", stderr: "ignore" });
    track(r.pid);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status === 200);
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from({ length: 150 }, () => new Promise<void>((resolve) => {
        const sock = connect(port, "127.0.0.1");
        sockets.push(sock);
        sock.on("connect", () => resolve());
        sock.on("error", () => resolve());
        setTimeout(resolve, 2000);
      })),
    );
    for (const sock of sockets) sock.write("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    await Bun.sleep(300);
    for (const sock of sockets) sock.destroy();
    await waitFor(async () => (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status === 200, 15_000, "service after the descriptor storm");
    r.kill("SIGTERM");
    const code = await Promise.race([r.exited, Bun.sleep(20_000).then(() => "still running")]);
    const tail = () => readFileSync(log, "utf8").split("\n").slice(-8).join("\n");
    expect({ code, log: code === 0 ? "" : tail() }).toEqual({ code: 0, log: "" });
  });
});
