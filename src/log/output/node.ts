// O_NONBLOCK on Node, which has no fcntl: libuv sets it on any descriptor it opens a stream handle
// for (uv__nonblock). The handle is never read or written through; it is kept so it is never collected.
import { Socket } from "node:net";

const kept: Socket[] = [];

export function setNonBlocking(fd: number): string | undefined {
  try {
    kept.push(new Socket({ fd, readable: false, writable: true }));
    return undefined;
  } catch (error) {
    return `cannot make fd ${fd} non-blocking: ${(error as Error).message}`;
  }
}
