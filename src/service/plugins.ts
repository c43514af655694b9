// The plugins part: the app's plugins started in order in their own scopes, after the listener is
// up (so /ready answers 503 while they start) and closed newest first right after the HTTP drain.
import type { Part } from "./instance";

export function pluginsPart(): Part {
  return {
    name: "plugins",
    async start(scope, instance) {
      await instance.host?.start(scope);
    },
  };
}
