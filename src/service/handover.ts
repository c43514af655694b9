// The hand-over part: where the listening socket cannot be shared (the Node bundle on TCP),
// SIGUSR2 from `restart` starts the successor here and passes it the socket.
import type { Part } from "./instance";
import { successor } from "./pid-file";

export function handoverPart(): Part {
  return {
    name: "handover",
    async start(_scope, instance) {
      const { listener, kernel, log, logger } = instance;
      if (listener?.handoverFd === undefined) return;
      const server = instance.loaded.config.server;
      const { acceptHandovers } = await import("../daemon/handover");
      acceptHandovers(kernel, {
        listener: { fd: listener.handoverFd, host: server.host, port: server.port },
        log,
        logHint: logger.sink.path ?? "its output",
        handedOver: () => successor(instance.pidPath) !== undefined,
        failed: (error) => {
          instance.lastHandover = { seq: (instance.lastHandover?.seq ?? 0) + 1, at: new Date().toISOString(), error };
          instance.publish();
        },
      });
    },
  };
}
