// sd_notify on Bun: neither Bun nor Node has unix datagram sockets, so call libc through bun:ffi
// (socket + sendto), which needs no C build step and works in a compiled binary.
import type { Transport } from "./index";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

const CLOCK_MONOTONIC = 1;

export async function transport(socket: string): Promise<Transport> {
  const { dlopen, FFIType, ptr } = await import("bun:ffi");
  const libc = dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  });
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
