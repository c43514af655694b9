// The named mutations `npm run mutants` applies one at a time. Each breaks one promise of the
// README in a few characters; `tests` are the files that must notice. Every anchor (`find`) must
// occur exactly once in its file: when the source moves on, the runner reports the mutant as stale
// (`npm run mutants -- --check` checks the anchors alone, in a second).

export interface Edit {
  /** Path from the project root. */
  file: string;
  find: string;
  replace: string;
}

export interface Mutant {
  /** Short and unique; `npm run mutants NAME` runs this one alone. */
  name: string;
  /** The promise it breaks, as a user would notice it. */
  breaks: string;
  edits: Edit[];
  /** Test files (from the project root) that should catch it. */
  tests: string[];
}

export const MUTANTS: Mutant[] = [
  {
    name: "second-signal-waits",
    breaks: "a second SIGTERM/SIGINT during the drain does not force an exit",
    edits: [{ file: "src/kernel/kernel.ts", find: "if (this.stopping) this.force(forcedBySignal(signal), `second ${signal} during the drain`);", replace: "if (this.stopping) return;" }],
    tests: ["test/kernel.test.ts"],
  },
  {
    name: "deadline-ignored",
    breaks: "the shutdown deadline is ignored: a stuck request holds the exit",
    edits: [
      { file: "src/kernel/kernel.ts", find: "const deadline = started + this.options.shutdownTimeoutMs;", replace: "const deadline = started + 3_600_000;" },
      { file: "src/kernel/kernel.ts", find: "timer = setTimeout(() => resolve(\"deadline\"), this.options.shutdownTimeoutMs);", replace: "timer = setTimeout(() => resolve(\"deadline\"), 3_600_000);" },
    ],
    tests: ["test/kernel.test.ts"],
  },
  {
    name: "pid-file-kept",
    breaks: "the PID file is not removed on exit",
    edits: [{ file: "src/instance/lock.ts", find: "      if (!stillHeld()) return false;\n      try {\n        unlinkSync(path);", replace: "      if (!stillHeld()) return false;\n      try {" }],
    tests: ["test/lock.test.ts"],
  },
  {
    name: "stale-never-taken",
    breaks: "a stale PID file (dead PID, left by kill -9) is never taken over",
    edits: [{ file: "src/instance/lock.ts", find: "if (seen.kind === \"stale\" && replaceStale(path, temp, seen, self())) return lockFor(path);", replace: "if (seen.kind === \"stale\") throw new AlreadyRunningError(seen.holder?.pid ?? 0, path);" }],
    tests: ["test/lock.test.ts"],
  },
  {
    name: "lock-follows-symlink",
    breaks: "the PID lock reads through a symlink planted at its path",
    edits: [{ file: "src/instance/shared-file.ts", find: "fd = openSync(path, constants.O_RDONLY | (options.follow ? 0 : constants.O_NOFOLLOW) | constants.O_NONBLOCK | constants.O_NOCTTY);", replace: "fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);" }],
    tests: ["test/lock.test.ts", "test/security.test.ts"],
  },
  {
    name: "status-temp-follows-symlink",
    breaks: "the status record's temp file is created through a planted symlink (root overwrites any file)",
    edits: [{ file: "src/instance/shared-file.ts", find: "return { temp, fd: openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode) };", replace: "return { temp: `${path}.${process.pid}.tmp`, fd: openSync(`${path}.${process.pid}.tmp`, \"w\", mode) };" }],
    tests: ["test/security.test.ts"],
  },
  {
    name: "drain-cuts-in-flight",
    breaks: "the drain does not wait for in-flight requests (Bun)",
    edits: [{ file: "src/http/adapter/bun.ts", find: "const outcome = await Promise.race([server.stop().then(() => \"drained\" as const), idle, late]);", replace: "const outcome = await Promise.race([server.stop(true).then(() => \"drained\" as const), idle, late]);" }],
    tests: ["test/kernel.test.ts"],
  },
  {
    name: "port-shared-silently",
    breaks: "a port another program holds is shared silently instead of 'port in use'",
    edits: [{ file: "src/http/adapter/bun.ts", find: "      exclusiveCheck(() => Bun.listen(", replace: "      void (() => Bun.listen(" }],
    tests: ["test/lock.test.ts", "test/http.test.ts"],
  },
  {
    name: "trust-any-peer",
    breaks: "X-Forwarded-For is believed from any peer, not only trusted proxies",
    edits: [{ file: "src/http/trust.ts", find: "  if (!trusted(peer)) return own;\n", replace: "" }],
    tests: ["test/http.test.ts"],
  },
  {
    name: "access-log-tail-lost",
    breaks: "the log drops its last lines (the last access lines, the stopped line) at exit",
    edits: [
      // lines wait for the batch timer, and the exit path throws away what is still queued
      { file: "src/log/sink.ts", find: "if (now || this.pendingBytes >= FLUSH_AT) this.flush();", replace: "if (this.pendingBytes >= FLUSH_AT) this.flush();" },
      { file: "src/log/sink.ts", find: "    const until = Date.now() + boundMs;\n    this.flush();", replace: "    const until = Date.now() + boundMs;\n    this.pending = [];\n    this.flush();" },
    ],
    tests: ["test/logging.test.ts"],
  },
  {
    name: "detach-before-ready",
    breaks: "serve -d reports success before the child is ready (and misses its start-up error)",
    edits: [{ file: "src/daemon/detach.ts", find: "    if (options.signal?.aborted) onAbort();", replace: "    child.once(\"spawn\", () => resolve({ kind: \"ready\", pid: child.pid!, address: \"(starting)\" }));\n    if (options.signal?.aborted) onAbort();" }],
    tests: ["test/daemon.test.ts"],
  },
  {
    name: "unknown-keys-pass-check",
    breaks: "unknown config keys pass 'config check'",
    edits: [{ file: "src/config/load.ts", find: "(options.strict ? problems : warnings).push({ source, key, message: `unknown key${suggest(key, leaves)}` });", replace: "warnings.push({ source, key, message: `unknown key${suggest(key, leaves)}` });" }],
    tests: ["test/config.test.ts", "test/unit/config.test.ts"],
  },
  {
    name: "sigusr1-ignored",
    breaks: "SIGUSR1 does not reopen the log file (logrotate keeps writing to the rotated file)",
    edits: [{ file: "src/kernel/kernel.ts", find: "void this.runHandler(\"reopen\", this.reopenHandler);", replace: "void 0;" }],
    tests: ["test/logging.test.ts", "test/hardening-logs.test.ts"],
  },
  {
    name: "status-not-running-is-ok",
    breaks: "'rodent status' exits 0 when nothing runs (LSB says 3)",
    edits: [{ file: "src/cli/status.ts", find: "      return print(EXIT.notRunning, ", replace: "      return print(EXIT.ok, " }],
    tests: ["test/daemon.test.ts"],
  },
  {
    name: "frozen-reported-ready",
    breaks: "'rodent status' reports a frozen instance (kill -STOP) as ready",
    edits: [{ file: "src/cli/status.ts", find: "  return silent > Math.max(MISSED_HEARTBEATS * Math.min(record.heartbeatMs, MAX_HEARTBEAT_MS), MIN_SILENCE_MS) ? { ms: silent } : undefined;", replace: "  return undefined;" }],
    tests: ["test/daemon.test.ts"],
  },
  {
    name: "stdout-blocks",
    breaks: "a stalled stdout reader freezes the daemon (log writes block)",
    edits: [{ file: "src/log/output/index.ts", find: "const own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY | O_CLOEXEC);", replace: "const own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NOCTTY | O_CLOEXEC);" }],
    tests: ["test/hardening-logs.test.ts"],
  },
  {
    name: "unknown-peer-trusted",
    breaks: "a client that resets right after its request forges its address (an unknown peer is trusted)",
    edits: [{ file: "src/http/trust.ts", find: "return (peer) => (peer === undefined ? false : peer === UNIX_PEER ? loopback : test(peer));", replace: "return (peer) => (peer === undefined ? true : peer === UNIX_PEER ? loopback : test(peer));" }],
    tests: ["test/http.test.ts", "test/unit/trust.test.ts"],
  },
  {
    name: "secrets-logged",
    breaks: "secret query parameters (sig, jwt, otp, jsessionid, …) reach the access log",
    edits: [{ file: "src/http/target.ts", find: "const SECRET_NAME = /token|pass|pwd|secret|key|auth|sig|sess|sid|jwt|code|otp|credential|cookie|bearer|private/i;", replace: "const SECRET_NAME = /token|password|secret/i;" }],
    tests: ["test/http.test.ts", "test/unit/target.test.ts"],
  },
  {
    name: "forged-record-believed",
    breaks: "a status record naming another PID (a predecessor's left over a restart, or a planted one) is believed by status and stop",
    edits: [{ file: "src/instance/status.ts", find: "if (typeof record !== \"object\" || record === null || record.pid !== owner.pid) {", replace: "if (typeof record !== \"object\" || record === null) {" }],
    tests: ["test/security.test.ts"],
  },
  {
    name: "stranger-is-ours",
    breaks: "'is this our instance?' says yes for another program: stop signals a stranger named by a planted PID file",
    edits: [{ file: "src/instance/identity.ts", find: "  return { kind: \"stranger\", why: `PID ${pid} is another program` };", replace: "  return { kind: \"ours\", uid: proc.uid, by: \"executable\" };" }],
    tests: ["test/security.test.ts", "test/lock.test.ts"],
  },
  {
    name: "config-fifo-hangs",
    breaks: "a FIFO named as the config file hangs serve and reload (opened blocking)",
    edits: [{ file: "src/config/file.ts", find: "fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);", replace: "fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY);" }],
    tests: ["test/hardening-config.test.ts"],
  },
  {
    name: "config-init-through-symlink",
    breaks: "'config init' writes through a symlink planted at the path",
    edits: [
      // looks at what a symlink names instead of the link, and opens following it
      { file: "src/cli/config.ts", find: "    return lstatSync(path);", replace: "    return require(\"node:fs\").statSync(path);" },
      { file: "src/cli/config.ts", find: "fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);", replace: "fd = openSync(file, \"w\", 0o644);" },
    ],
    tests: ["test/hardening-config.test.ts"],
  },
  {
    name: "gone-config-applies-defaults",
    breaks: "a reload after the instance's config file was deleted applies the built-in defaults",
    edits: [{ file: "src/config/load.ts", find: "      if (!read.missing || explicit) {", replace: "      if (!read.missing) {" }],
    tests: ["test/hardening-config.test.ts"],
  },
  {
    name: "plugin-signal-at-sigterm",
    breaks: "a plugin's signal and workers are aborted at the first SIGTERM, before the HTTP drain its routes need",
    edits: [{ file: "src/kernel/scope.ts", find: "    if (parent && options.ownTurn) {", replace: "    if (parent && options.ownTurn && false) {" }],
    tests: ["test/kit.test.ts"],
  },
  {
    name: "plugin-cleanups-in-order",
    breaks: "a plugin's cleanups run before its workers ended (a worker still using the store sees it closed)",
    edits: [{ file: "src/plugin/host.ts", find: "    const workers = scope.child(`${plugin.name} workers`);", replace: "    const workers = scope;" }],
    tests: ["test/unit/plugins.test.ts"],
  },
  {
    name: "reload-hook-ignored",
    breaks: "a plugin's reload hook that refuses does not stop the reload",
    edits: [{ file: "src/plugin/host.ts", find: "        return `plugin \"${name}\" rejected the reload: ${errorText(error)}`;", replace: "        return undefined;" }],
    tests: ["test/kit-ops.test.ts"],
  },
  {
    name: "handover-cuts-kept-alive",
    breaks: "a restart's old instance closes its kept-alive connections at once (a request already sent on one meets a reset)",
    edits: [{ file: "src/http/listen.ts", find: "    if (policy.handingOver()) await handOver(", replace: "    if (false) await handOver(" }],
    tests: ["test/restart.test.ts"],
  },
];
