// O_NONBLOCK on Bun: fcntl through bun:ffi (Bun's own net.Socket on a descriptor leaves it blocking).
import { openLibc } from "../../ffi/libc";

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

export function setNonBlocking(fd: number): string | undefined {
  try {
    // loaded only here: a pipe or a file as stdout needs no FFI at all
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    const { lib } = openLibc((name) => dlopen(name, { fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 } }));
    const flags = lib.symbols.fcntl(fd, F_GETFL, 0);
    if (flags < 0 || lib.symbols.fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return `fcntl(O_NONBLOCK) failed on fd ${fd}`;
    lib.close();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
