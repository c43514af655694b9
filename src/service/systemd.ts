// The systemd part: READY, RELOADING and STOPPING (or MAINPID=<successor> after a hand-over) as the
// state changes, and the watchdog in its own scope. Nothing at all without $NOTIFY_SOCKET.
import { createNotifier } from "../systemd/notify";
import type { Part } from "./instance";
import { successor } from "./pid-file";

export function systemdPart(): Part {
  return {
    name: "systemd",
    async start(scope, instance) {
      const { kernel, log, pidPath } = instance;
      const notifier = await createNotifier(scope, log, instance.predecessor);
      if (!notifier) return;
      const status = () => `ready on ${instance.address} (config ${instance.loaded.hash})`;
      kernel.onState((state) => {
        if (state === "reloading") notifier.reloading();
        else if (state === "ready") notifier.ready(status());
        else if (state === "draining") {
          // Handed over by a restart, the service is not stopping: the successor is its main process
          // from now on. STOPPING=1 from the main process would put the unit in deactivating.
          const next = successor(pidPath);
          if (next) notifier.mainPid(next);
          else notifier.stopping();
        }
      });
    },
  };
}
