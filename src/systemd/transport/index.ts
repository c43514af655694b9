// Picks how to send a datagram on this runtime; nothing outside this folder asks.
import { LibcNotFoundError } from "../../ffi/libc";

/** Sends one notify message; returns an error text instead of throwing. */
export type Send = (message: string) => string | undefined;

export interface Transport {
  send: Send;
  /** CLOCK_MONOTONIC in microseconds, as systemd reads MONOTONIC_USEC. */
  monotonicUsec(): bigint;
}

/**
 * The transport for this runtime: libc through bun:ffi on Bun, systemd-notify(1) on Node. A Bun
 * build on a system whose C library cannot be found falls back to systemd-notify, and `warn`
 * says so once.
 */
export async function transport(socket: string, warn: (message: string) => void, load: Loaders = loaders): Promise<Transport> {
  if (typeof Bun === "undefined") return load.node(socket);
  try {
    return await load.bun(socket);
  } catch (error) {
    if (!(error instanceof LibcNotFoundError)) throw error;
    warn(`${error.message}: notifying systemd through systemd-notify(1) instead (the unit needs NotifyAccess=all)`);
    return load.node(socket);
  }
}

export interface Loaders {
  bun(socket: string): Promise<Transport>;
  node(socket: string): Promise<Transport>;
}

const loaders: Loaders = {
  bun: async (socket) => (await import("./bun")).transport(socket),
  node: async (socket) => (await import("./node")).transport(socket),
};
