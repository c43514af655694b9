// Running short of resources: file descriptors and a log that cannot be written.
import { describe, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, freePort, tempDir, track, waitFor } from "../helpers";

describe("resource faults", () => {
  test("with ulimit -n 64, connections beyond the descriptors wait unaccepted, none is cut, and all are served as descriptors free up", async () => {
    const dir = tempDir();
    const port = await freePort();
    const log = join(dir, "r.log");
    const r = Bun.spawn(["bash", "-c", `ulimit -n 64 && exec "${BIN}" serve --port ${port} --pid-file "${join(dir, "r.pid")}" --log-file "${log}"`], { env: { ...process.env, HOME: dir }, stdout: "ignore", stderr: "ignore" });
    track(r.pid);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status === 200);
    // Each client records what it saw: an answer, a close or reset without one, or nothing yet.
    const seen: ("answered" | "cut" | "pending")[] = [];
    const sockets: Socket[] = [];
    await Promise.all(
      Array.from({ length: 150 }, (_, i) => new Promise<void>((resolve) => {
        seen[i] = "pending";
        const sock = connect(port, "127.0.0.1");
        sockets.push(sock);
        sock.on("connect", () => resolve());
        sock.on("data", (d) => {
          if (d.toString().startsWith("HTTP/1.1 200")) seen[i] = "answered";
        });
        const cut = () => {
          if (seen[i] === "pending") seen[i] = "cut";
          resolve();
        };
        sock.on("close", cut);
        sock.on("error", cut);
        setTimeout(resolve, 2000);
      })),
    );
    for (const sock of sockets) sock.write("GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    const count = (v: string) => seen.filter((x) => x === v).length;
    // 64 descriptors cannot hold 150 connections: the first are served, the rest wait unaccepted
    await waitFor(() => count("answered") > 0, 5000, "a first client answered");
    await Bun.sleep(500); // let every connection that can be served be served: the rest must not be
    const first = count("answered");
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(64);
    expect(count("cut")).toBe(0);
    // freeing descriptors lets the waiting clients through, one batch after another
    for (let round = 0; round < 10 && count("pending") > 0; round++) {
      sockets.forEach((sock, i) => seen[i] === "answered" && !sock.destroyed && sock.destroy());
      await waitFor(() => count("pending") === 0 || sockets.some((sock, i) => seen[i] === "answered" && !sock.destroyed), 5000, () => `progress (${count("pending")} still waiting)`);
    }
    expect({ answered: count("answered"), cut: count("cut") }).toEqual({ answered: 150, cut: 0 });
    for (const sock of sockets) sock.destroy();
    await waitFor(async () => (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.status === 200, 15_000, "service after the descriptor storm");
    r.kill("SIGTERM");
    const code = await Promise.race([r.exited, Bun.sleep(20_000).then(() => "still running")]);
    const tail = () => readFileSync(log, "utf8").split("\n").slice(-8).join("\n");
    expect({ code, log: code === 0 ? "" : tail() }).toEqual({ code: 0, log: "" });
  });
});
