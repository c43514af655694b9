// State the whole machine shares (a sysctl), and the lock that keeps tests changing it apart:
// `npm test` runs test files in parallel worker processes (bun test --parallel), and other
// checkouts on the same host may run theirs at the same time.
import { afterEach, beforeEach } from "bun:test";
import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Whether `pid` names a live process (a zombie, exited but not reaped, counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Takes the machine-wide lock `name`: a file in the temp dir, created with O_EXCL|O_NOFOLLOW,
 * holding this process's PID. Waits while a live process holds it, polling, at most `waitMs`,
 * then throws naming the file and its holder. A lock left by a process that is gone (a test run
 * killed mid-test) is removed and taken. Returns the release function: it removes the file only
 * while it still names this process, and may be called more than once. (No exit hook: bun test
 * does not run them; the afterEach that releases it runs after a failed or timed-out test too.)
 */
export async function lockMachine(name: string, waitMs = 45_000): Promise<() => void> {
  const path = join(tmpdir(), `rodent-test-${name}.lock`);
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        if (holder(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const pid = holder(path);
    if (pid !== undefined && pid !== process.pid && !isAlive(pid)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > until) throw new Error(`the test lock ${path} is still held by ${pid === undefined ? "an unknown process" : `PID ${pid}`} after ${waitMs} ms; remove it if no test runs`);
    await Bun.sleep(50);
  }
}

/**
 * The PID in a lock file we own, read without following a symlink or blocking, at most 32
 * bytes; undefined when it is missing, empty (its creator has not written yet), not ours or not
 * a PID: such a lock is waited on, never removed.
 */
function holder(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== process.getuid?.()) return undefined;
    const buffer = Buffer.alloc(32);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, 32, 0)).toString();
    return /^\d+\n$/.test(text) ? Number(text) : undefined;
  } finally {
    closeSync(fd);
  }
}

const MIGRATE = "/proc/sys/net/ipv4/tcp_migrate_req";

/**
 * Closing one of two SO_REUSEPORT listeners resets the connections queued on it unless the kernel
 * migrates them (Linux 5.14+, net.ipv4.tcp_migrate_req=1); the README asks operators for the same.
 * Call at the top of a describe block whose tests restart under load: each of its tests holds the
 * machine lock "tcp_migrate_req" (so no test elsewhere changes the setting meanwhile), runs with it
 * set to 1 (or what it `set`s), and restores it afterwards. `before` is undefined where it cannot
 * be read or set (not root, older kernel); nothing is locked then.
 */
export function migrateQueuedConnections(): { readonly before: string | undefined; set(value: "0" | "1"): void } {
  let before: string | undefined;
  let release: (() => void) | undefined;
  const set = (value: string) => writeFileSync(MIGRATE, value);
  beforeEach(async () => {
    before = undefined;
    try {
      // only where we may set it (root, a kernel that has it); a probe that wrote could undo a holder's value
      accessSync(MIGRATE, constants.R_OK | constants.W_OK);
    } catch {
      return;
    }
    release = await lockMachine("tcp_migrate_req");
    before = readFileSync(MIGRATE, "utf8").trim();
    set("1");
  });
  afterEach(() => {
    try {
      if (before !== undefined) set(before);
    } finally {
      release?.();
      release = undefined;
    }
  });
  return {
    get before() {
      return before;
    },
    set,
  };
}
