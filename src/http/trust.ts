// Who the client is behind a reverse proxy: forwarded headers count only from trusted peers.

export type TrustTest = (peer: string | undefined) => boolean;

/** What the adapters report as the peer of a request that came over a unix socket. */
export const UNIX_PEER = "unix";

interface Range {
  bytes: Uint8Array;
  bits: number;
}

/**
 * Parses one trustProxy entry ("10.0.0.0/8", "::1", "fd00::/8"): its range, or why it is not one.
 * The config schema validates with it and compileTrust compiles with it, so whatever `config check`
 * accepts, serve and reload can use.
 */
export function parseTrustEntry(text: string): Range | string {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const bytes = toBytes(address);
  if (!bytes) return `${JSON.stringify(address)} is not an IPv4 or IPv6 address`;
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, bits: max };
  const bitsText = text.slice(slash + 1);
  // An IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) is matched as the IPv4 prefix it covers.
  const mapped = bytes.length === 4 && address.includes(":") ? 96 : 0;
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) - mapped : NaN;
  if (!(bits >= 0 && bits <= max)) return `the prefix length after / must be a number from ${mapped} to ${max + mapped} for this address`;
  return { bytes, bits };
}

/**
 * Compiles trustProxy entries into a test that remembers its verdicts. The entries come from the
 * config schema, which accepted each one with parseTrustEntry: compiling them cannot fail.
 */
export function compileTrust(list: readonly string[]): TrustTest {
  const ranges = list.map((entry) => {
    const range = parseTrustEntry(entry);
    // unreachable through the config: the schema parsed this entry with the same function
    if (typeof range === "string") throw new Error(`trustProxy entry ${entry}: ${range}`);
    return range;
  });
  // Peers are few (a proxy or two): remember the verdicts instead of parsing on every request.
  const seen = new Map<string, boolean>();
  const test = (address: string) => {
    let verdict = seen.get(address);
    if (verdict === undefined) {
      const bytes = toBytes(address);
      verdict = bytes !== undefined && ranges.some((r) => inRange(bytes, r));
      if (seen.size >= 1024) seen.clear();
      seen.set(address, verdict);
    }
    return verdict;
  };
  // A unix-socket peer is a local process: trusted exactly when loopback is. An unknown TCP peer
  // (the connection was gone before anyone asked) is never trusted.
  const loopback = test("127.0.0.1");
  return (peer) => (peer === undefined ? false : peer === UNIX_PEER ? loopback : test(peer));
}

export interface ClientInfo {
  ip: string;
  scheme: string;
}

/**
 * The client's address and scheme. `peer` is the connection's peer address, UNIX_PEER, or
 * undefined when it is unknown (never trusted; the ip is then "unknown"). With an untrusted peer,
 * its own address and the connection's scheme. With a trusted peer, walking X-Forwarded-For (or,
 * without it, Forwarded for=) from the right, the first hop that is not itself trusted, and the
 * scheme that same hop used: the matching X-Forwarded-Proto entry counted from the right (or that
 * Forwarded element's proto=), since a client can put anything at the left end of either list.
 */
export function clientInfo(peer: string | undefined, headers: Headers, trusted: TrustTest, connScheme: string): ClientInfo {
  const own = { ip: peer === undefined ? "unknown" : unmap(peer), scheme: connScheme };
  if (!trusted(peer)) return own;
  const xff = headers.get("x-forwarded-for");
  const forwarded = xff === null ? headers.get("forwarded") : null;
  if (xff === null && forwarded === null) return own;
  const hops = forwarded !== null ? forwardedElements(forwarded) : xffHops(xff!, headers.get("x-forwarded-proto"));
  let chosen: Hop | undefined;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (toBytes(hop.for) === undefined) break;
    chosen = hop;
    if (!trusted(hop.for)) break;
  }
  if (!chosen) return own;
  const proto = chosen.proto?.toLowerCase();
  return { ip: unmap(chosen.for), scheme: proto === "http" || proto === "https" ? proto : connScheme };
}

interface Hop {
  for: string;
  proto: string | undefined;
}

/**
 * X-Forwarded-For hops, each with the X-Forwarded-Proto entry at the same place counted from the
 * right; where the proto list is shorter (a proxy that sets one value instead of appending), the
 * hops beyond it take its leftmost entry, the one nearest the client that a proxy wrote.
 */
function xffHops(xff: string, xfp: string | null): Hop[] {
  const fors = xff.split(",").map((s) => s.trim()).filter(Boolean);
  const protos = xfp === null ? [] : xfp.split(",").map((s) => s.trim());
  return fors.map((address, i) => {
    const fromRight = fors.length - 1 - i;
    return { for: address, proto: protos.length ? protos[Math.max(0, protos.length - 1 - fromRight)] : undefined };
  });
}

/** The elements of a Forwarded header (RFC 7239), each with its for= and proto=. */
function forwardedElements(header: string): Hop[] {
  const out: Hop[] = [];
  for (const element of header.split(",")) {
    const address = /(?:^|;)\s*for=("?)\[?([^\]";,]+)\]?(?::\d+)?\1\s*(?:;|$)/i.exec(element)?.[2];
    const proto = /(?:^|;)\s*proto=("?)([a-z][a-z0-9+.-]*)\1\s*(?:;|$)/i.exec(element)?.[2];
    // An element without for= ends the chain we can follow: it is treated as garbage.
    out.push({ for: address ?? "", proto });
  }
  return out;
}

function inRange(bytes: Uint8Array, range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  let bits = range.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (range.bytes[i]! & mask)) return false;
  }
  return true;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:]+(:\d{1,3}(\.\d{1,3}){3})?$/i;

/** 4, 6 or 0, like node:net's isIP (which costs start-up time to load). */
export function isIP(address: string): 4 | 6 | 0 {
  if (IPV4.test(address)) return 4;
  if (!address.includes(":") || !IPV6.test(address)) return 0;
  const tail = /(\d{1,3}(\.\d{1,3}){3})$/.exec(address)?.[1];
  if (tail && !IPV4.test(tail)) return 0;
  const halves = address.split("::");
  if (halves.length > 2) return 0;
  const groups = halves.flatMap((h) => (h ? h.split(":") : [])).map((g) => (g.includes(".") ? ["0", "0"] : [g])).flat();
  if (groups.some((g) => g.length === 0 || g.length > 4)) return 0;
  return (halves.length === 2 ? groups.length < 8 : groups.length === 8) ? 6 : 0;
}
function unmap(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function toBytes(address: string): Uint8Array | undefined {
  const plain = unmap(address);
  const kind = isIP(plain);
  if (kind === 4) return Uint8Array.from(plain.split(".").map(Number));
  if (kind !== 6) return undefined;
  const [head, tail] = plain.split("::") as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const left = groups(head);
  const right = groups(tail);
  const last = right.length ? right : left;
  // An embedded IPv4 tail (::ffff:1.2.3.4 was unmapped above; others like 64:ff9b::1.2.3.4) takes two groups.
  if (last.length && last.at(-1)!.includes(".")) {
    const v4 = last.pop()!.split(".").map(Number);
    last.push(((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16));
  }
  const fill = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  const all = [...left, ...fill, ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}
