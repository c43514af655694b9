// O_NONBLOCK on Node, which has no fcntl: libuv sets it on any descriptor it opens a stream handle
// for (uv__nonblock). The handle is never read or written through; it is kept so it is never collected.
import type { Socket } from "node:net";

const kept: Socket[] = [];

export function setNonBlocking(fd: number): string | undefined {
  try {
    // loaded here, not at the top: bundled into the compiled binary, a top-level import of node:net
    // would load it (and Node's streams) at every start on Bun too, where this file never runs
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Socket } = require("node:net") as typeof import("node:net");
    kept.push(new Socket({ fd, readable: false, writable: true }));
    return undefined;
  } catch (error) {
    return `cannot make fd ${fd} non-blocking: ${(error as Error).message}`;
  }
}
