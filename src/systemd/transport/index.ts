// Picks how to send a datagram on this runtime; nothing outside this folder asks.

/** Sends one notify message; returns an error text instead of throwing. */
export type Send = (message: string) => string | undefined;

export interface Transport {
  send: Send;
  /** CLOCK_MONOTONIC in microseconds, as systemd reads MONOTONIC_USEC. */
  monotonicUsec(): bigint;
}

export async function transport(socket: string): Promise<Transport> {
  const impl = typeof Bun !== "undefined" ? await import("./bun") : await import("./node");
  return impl.transport(socket);
}
