// Picks the adapter for the runtime this process is on; nothing outside this folder asks.
import type { Listener, ListenOptions } from "./types";

export type { ConnEnv, FetchHandler, Listener, ListenOptions } from "./types";
export { ListenError } from "./types";

export async function listen(options: ListenOptions): Promise<Listener> {
  const adapter = typeof Bun !== "undefined" ? await import("./bun") : await import("./node");
  return adapter.listen(options);
}

/** "bun 1.4.5" or "node 20.20.2". */
export function runtimeName(): string {
  return typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`;
}
