// The hand-over part: SIGUSR2 from `restart` starts the successor here, as this user with this
// output, and passes it the listening socket where it cannot bind beside this one (Node on TCP).
import { acceptHandovers } from "../daemon/handover";
import type { Part } from "./instance";
import { successor } from "./pid-file";

export function handoverPart(): Part {
  return {
    name: "handover",
    start(_scope, instance) {
      const { listener, kernel, log, logger } = instance;
      const server = instance.loaded.config.server;
      acceptHandovers(kernel, {
        listener: listener?.handoverFd === undefined ? undefined : { fd: listener.handoverFd, host: server.host, port: server.port },
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
