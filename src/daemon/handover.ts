// The old instance's side of a restart: asked by SIGUSR2, it starts its successor itself, as its own
// user with its own environment and output (whatever they are: a file, a pipe, the journal's
// socket), and passes it the listening socket where the runtime cannot share its port (Node on TCP).
import type { HandedOverListener } from "./channel";
import type { Kernel } from "../kernel/kernel";

export interface HandoverOptions {
  /** The listening socket to pass on (Node on TCP); without it the successor binds beside this one. */
  listener?: HandedOverListener & { fd: number };
  log: {
    info(message: string, fields?: Record<string, unknown>): void;
    error(message: string, fields?: Record<string, unknown>): void;
  };
  /** Where the successor's output can be read, for its error messages. */
  logHint: string;
  /** Whether the PID file names a successor now (it took over). */
  handedOver(): boolean;
  /** Records a failed hand-over where `rodent restart` reads it (the status record). */
  failed(error: string): void;
}

/**
 * Makes SIGUSR2 start a successor (with the listening socket, when given). The successor takes
 * the PID file over and tells this instance to drain once it is ready; if it fails, this instance
 * logs why, records it through `failed`, and keeps serving. A drain that is not the successor's
 * doing stops a successor still starting.
 */
export function acceptHandovers(kernel: Kernel, options: HandoverOptions): void {
  const { log } = options;
  kernel.onHandover(async () => {
    const failed = (error: string) => {
      log.error(`restart failed; this instance keeps serving: ${error}`, { event: "handover-failed", error });
      options.failed(error);
    };
    if (kernel.state === "starting") return failed("the instance was still starting; try again once it is ready");
    log.info(`restart asked for: starting a successor${options.listener ? " with the listening socket" : ""}`, { event: "handover-started" });
    // The successor takes the PID file over and sends SIGTERM before it reports ready: that drain
    // must not stop it.
    const abandon = new AbortController();
    const onDrain = () => !options.handedOver() && abandon.abort("this instance began shutting down");
    kernel.root.signal.addEventListener("abort", onDrain, { once: true });
    try {
      // loaded when a restart asks, not at every start
      const { startSuccessor } = await import("./successor");
      const next = await startSuccessor({ of: process.pid, output: "inherit", listener: options.listener, signal: abandon.signal, logHint: options.logHint });
      log.info(`successor PID ${next.pid} is ready on ${next.address}`, { event: "handover-done", successor: next.pid });
    } catch (error) {
      failed((error as Error).message);
    } finally {
      kernel.root.signal.removeEventListener("abort", onDrain);
    }
  });
}
