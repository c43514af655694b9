// sd_notify on Bun: neither Bun nor Node has unix datagram sockets, so call libc through bun:ffi
// (socket + sendto), which needs no C build step and works in a compiled binary.
import { openLibc } from "../../ffi/libc";
import type { Transport } from "./index";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

const CLOCK_MONOTONIC = 1;

type FFI = typeof import("bun:ffi");

/** The libc functions used here, bound the way bun:ffi's dlopen binds them. */
export interface NotifyLibc {
  symbols: {
    socket(domain: number, type: number, protocol: number): number;
    sendto(fd: number, data: unknown, length: number, flags: number, address: unknown, addressLength: number): number | bigint;
    close(fd: number): number;
    clock_gettime(clock: number, timespec: unknown): number;
  };
}

/**
 * The transport over libc. `open` binds the symbols in the named library (bun:ffi's dlopen by
 * default; tests inject one); throws LibcNotFoundError when no libc name opens (glibc or musl).
 */
export async function transport(socket: string, open?: (name: string) => NotifyLibc): Promise<Transport> {
  const ffi: FFI = await import("bun:ffi");
  const { ptr } = ffi;
  const { lib: libc } = openLibc(open ?? ((name) => bind(ffi, name)));
  // Bun's process.hrtime counts from process start, not from boot: ask the kernel's clock.
  const timespec = new BigInt64Array(2);
  const monotonicUsec = () => {
    libc.symbols.clock_gettime(CLOCK_MONOTONIC, ptr(timespec));
    return timespec[0]! * 1_000_000n + timespec[1]! / 1000n;
  };
  // struct sockaddr_un: sa_family_t (2 bytes) then sun_path[108]; "@name" is an abstract address.
  const path = Buffer.from(socket.startsWith("@") ? `\0${socket.slice(1)}` : socket);
  if (path.length > 107) return { send: () => `socket path too long: ${socket}`, monotonicUsec };
  const address = Buffer.alloc(110);
  address.writeUInt16LE(AF_UNIX, 0);
  path.copy(address, 2);
  const length = 2 + path.length + (socket.startsWith("@") ? 0 : 1);
  const send = (message: string) => {
    const fd = libc.symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return "socket() failed";
    try {
      const data = Buffer.from(message);
      const sent = libc.symbols.sendto(fd, ptr(data), data.length, 0, ptr(address), length);
      return Number(sent) < 0 ? "sendto() failed (is the socket there?)" : undefined;
    } finally {
      libc.symbols.close(fd);
    }
  };
  return { send, monotonicUsec };
}

function bind({ dlopen, FFIType }: FFI, name: string): NotifyLibc {
  return dlopen(name, {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  }) as unknown as NotifyLibc;
}
