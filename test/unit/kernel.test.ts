import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { Kernel, type KernelLog } from "../../src/kernel/kernel";
import type { SignalSource } from "../../src/kernel/signals";

function harness(shutdownTimeoutMs = 1000) {
  const records: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const log: KernelLog = {
    info: (message, fields) => void records.push({ level: "info", message, fields }),
    warn: (message, fields) => void records.push({ level: "warn", message, fields }),
    error: (message, fields) => void records.push({ level: "error", message, fields }),
  };
  const signals = new EventEmitter() as EventEmitter & SignalSource;
  let exitCode: number | undefined;
  let exited!: (code: number) => void;
  const exit = new Promise<number>((r) => (exited = r));
  const kernel = new Kernel({ log, shutdownTimeoutMs, signals, exit: (code) => ((exitCode = code), exited(code)) });
  const send = (signal: NodeJS.Signals) => signals.emit(signal, signal);
  return { kernel, records, send, signals, exit, code: () => exitCode };
}

describe("Kernel", () => {
  test("states go starting → ready → draining → stopped, observably", async () => {
    const h = harness();
    const seen: string[] = [];
    h.kernel.onState((s) => seen.push(s));
    expect(h.kernel.state).toBe("starting");
    h.kernel.ready();
    h.send("SIGTERM");
    expect(await h.exit).toBe(0);
    expect(seen).toEqual(["ready", "draining", "stopped"]);
  });

  test("a second SIGINT while draining forces exit 130, running critical cleanups only", async () => {
    const h = harness(10_000);
    const ran: string[] = [];
    h.kernel.root.defer("pid-file", () => void ran.push("pid-file"), { critical: true });
    h.kernel.root.defer("slow", () => new Promise(() => {}));
    h.kernel.ready();
    h.send("SIGINT");
    await Bun.sleep(5);
    h.send("SIGINT");
    expect(await h.exit).toBe(130);
    expect(ran).toEqual(["pid-file"]);
    expect(h.records.some((r) => r.fields?.event === "forced-exit")).toBe(true);
  });

  test("the shutdown deadline abandons slow cleanups, names them, and exits 4", async () => {
    const h = harness(50);
    h.kernel.root.child("http").defer("http-drain", () => new Promise(() => {}));
    h.kernel.ready();
    h.send("SIGTERM");
    expect(await h.exit).toBe(4);
    expect(h.records.find((r) => r.fields?.event === "shutdown-deadline")?.message).toContain("http-drain");
  });

  test("a cleanup that throws is logged by name, the rest run, and the exit code is 1", async () => {
    const h = harness();
    const ran: string[] = [];
    h.kernel.root.defer("first", () => void ran.push("first"));
    h.kernel.root.defer("broken", () => {
      throw new Error("boom");
    });
    h.kernel.ready();
    h.send("SIGTERM");
    expect(await h.exit).toBe(1);
    expect(ran).toEqual(["first"]);
    expect(h.records.find((r) => r.fields?.event === "cleanup-failed")?.fields).toMatchObject({ cleanup: "broken", error: "boom" });
  });

  test("SIGHUP runs the reload handler with state reloading; reloads asked for meanwhile coalesce into one more", async () => {
    const h = harness();
    h.kernel.ready();
    const states: string[] = [];
    let runs = 0;
    h.kernel.onReload(async () => {
      runs++;
      states.push(h.kernel.state);
      await Bun.sleep(20);
    });
    for (let i = 0; i < 5; i++) h.send("SIGHUP");
    // the second run is done when the state is ready again after it (a fixed 100 ms was too short
    // on a loaded machine); then a while longer, in which no third run may start
    for (const until = Date.now() + 5000; !(runs >= 2 && h.kernel.state === "ready") && Date.now() < until; ) await Bun.sleep(5);
    await Bun.sleep(60);
    expect(runs).toBe(2);
    expect(states).toEqual(["reloading", "reloading"]);
    expect(h.kernel.state).toBe("ready");
  });

  test("SIGHUP with no reload handler says nothing is reloadable; SIGUSR1 runs the reopen handler", async () => {
    const h = harness();
    h.kernel.ready();
    let reopened = 0;
    h.kernel.onReopen(() => void reopened++);
    h.send("SIGHUP");
    h.send("SIGUSR1");
    await Bun.sleep(5);
    expect(h.records.some((r) => r.message.includes("nothing is reloadable"))).toBe(true);
    expect(reopened).toBe(1);
  });

  test("fatal() logs the stack and shuts down gracefully with exit 1", async () => {
    const h = harness();
    h.kernel.ready();
    h.kernel.fatal(new Error("kaboom"), "uncaught exception");
    expect(await h.exit).toBe(1);
    const fatal = h.records.find((r) => r.fields?.event === "fatal");
    expect(String(fatal?.fields?.stack)).toContain("kaboom");
  });

  test("SIGUSR2 is not caught until a hand-over handler is set; then one runs at a time, and none while draining", async () => {
    const h = harness(10_000);
    const source = h.signals;
    expect(source.listenerCount("SIGUSR2")).toBe(0);
    let release!: () => void;
    let runs = 0;
    h.kernel.onHandover(() => {
      runs++;
      return new Promise<void>((r) => (release = r));
    });
    expect(source.listenerCount("SIGUSR2")).toBe(1);
    h.kernel.ready();
    h.send("SIGUSR2");
    await Bun.sleep(1);
    h.send("SIGUSR2");
    await Bun.sleep(1);
    expect(runs).toBe(1);
    expect(h.records.some((r) => r.fields?.event === "handover-ignored")).toBe(true);
    release();
    await Bun.sleep(1);
    h.kernel.root.defer("slow", () => new Promise(() => {}));
    h.send("SIGTERM");
    await Bun.sleep(1);
    h.send("SIGUSR2");
    await Bun.sleep(1);
    expect(runs).toBe(1);
    expect(h.records.filter((r) => r.fields?.event === "handover-ignored").at(-1)?.message).toContain("draining");
    h.send("SIGTERM");
    await h.exit;
    expect(source.listenerCount("SIGUSR2")).toBe(0);
  });
});
