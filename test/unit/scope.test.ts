import { describe, expect, test } from "bun:test";
import { Scope, type CleanupFailure } from "../../src/kernel/scope";

describe("Scope", () => {
  test("cleanups run last-registered-first, children before their parent, newest child first", async () => {
    const order: string[] = [];
    const root = new Scope("root");
    root.defer("root-1", () => void order.push("root-1"));
    const a = root.child("a");
    a.defer("a-1", () => void order.push("a-1"));
    a.defer("a-2", () => void order.push("a-2"));
    const b = root.child("b");
    b.defer("b-1", async () => {
      await Bun.sleep(5);
      order.push("b-1");
    });
    root.defer("root-2", () => void order.push("root-2"));
    await root.close("test");
    expect(order).toEqual(["b-1", "a-2", "a-1", "root-2", "root-1"]);
  });

  test("closing aborts the signal of the scope and every descendant, with the reason", async () => {
    const root = new Scope("root");
    const grandchild = root.child("a").child("b");
    const seen: unknown[] = [];
    grandchild.signal.addEventListener("abort", () => seen.push(grandchild.signal.reason));
    await root.close("because");
    expect(root.signal.aborted).toBe(true);
    expect(grandchild.signal.aborted).toBe(true);
    expect(seen).toEqual(["because"]);
  });

  test("close is idempotent: concurrent and repeated calls share one closing", async () => {
    const root = new Scope("root");
    let runs = 0;
    root.defer("count", async () => {
      await Bun.sleep(5);
      runs++;
    });
    const first = root.close();
    const second = root.close();
    expect(second).toBe(first);
    await Promise.all([first, second, root.close()]);
    expect(runs).toBe(1);
  });

  test("a cleanup that throws is reported by name and the others still run", async () => {
    const failures: CleanupFailure[] = [];
    const root = new Scope("root", { onCleanupError: (f) => failures.push(f) });
    const order: string[] = [];
    root.defer("first", () => void order.push("first"));
    root.defer("broken", () => {
      throw new Error("boom");
    });
    root.child("kid").defer("kid-broken", async () => {
      throw new Error("async boom");
    });
    await root.close();
    expect(order).toEqual(["first"]);
    expect(failures.map((f) => [f.scope, f.cleanup, (f.error as Error).message, f.timedOut])).toEqual([
      ["kid", "kid-broken", "async boom", false],
      ["root", "broken", "boom", false],
    ]);
  });

  test("a cleanup that runs past the deadline is reported as timed out and the rest run", async () => {
    const failures: CleanupFailure[] = [];
    const root = new Scope("root", { onCleanupError: (f) => failures.push(f) });
    let ranAfter = false;
    root.defer("after", () => void (ranAfter = true));
    root.defer("slow", () => new Promise(() => {}));
    const started = Date.now();
    await root.close("test", Date.now() + 50);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.cleanup).toBe("slow");
    expect(failures[0]!.timedOut).toBe(true);
    expect(ranAfter).toBe(true);
  });

  test("each cleanup learns the time left before the deadline and why the scope closed", async () => {
    const root = new Scope("root");
    let seen: { reason: unknown; timeLeftMs: number } | undefined;
    root.defer("look", (ctx) => void (seen = ctx));
    await root.close("SIGTERM", Date.now() + 10_000);
    expect(seen!.reason).toBe("SIGTERM");
    expect(seen!.timeLeftMs).toBeGreaterThan(9000);
    expect(seen!.timeLeftMs).toBeLessThanOrEqual(10_000);
  });

  test("a cleanup deferred on a closed scope runs at once", async () => {
    const root = new Scope("root");
    await root.close();
    let ran = false;
    root.defer("late", () => void (ran = true));
    expect(ran).toBe(true);
  });

  test("a closed child leaves its parent and removes its abort listener", async () => {
    const root = new Scope("root");
    for (let i = 0; i < 100; i++) await root.child(`c${i}`).close();
    expect(root.describe().children).toHaveLength(0);
    const survivor = root.child("live");
    expect(root.describe().children.map((c) => c.name)).toEqual(["live"]);
    await root.close();
    expect(survivor.signal.aborted).toBe(true);
  });

  test("runCritical runs only critical cleanups, synchronously, once", async () => {
    const root = new Scope("root");
    const order: string[] = [];
    root.defer("plain", () => void order.push("plain"));
    root.child("instance").defer("pid-file", () => void order.push("pid-file"), { critical: true });
    root.runCritical("forced");
    expect(order).toEqual(["pid-file"]);
    await root.close();
    expect(order).toEqual(["pid-file", "plain"]);
  });
});
