// Who the client is behind a reverse proxy: forwarded headers count only from trusted peers.

export type TrustTest = (address: string | undefined) => boolean;

/** Compiles a list of addresses and CIDRs ("127.0.0.0/8", "::1", "10.0.0.0/8") into a test. */
export function compileTrust(list: readonly string[]): TrustTest {
  const ranges = list.map(parseRange);
  // Peers are few (a proxy or two): remember the verdicts instead of parsing on every request.
  const seen = new Map<string, boolean>();
  return (address) => {
    if (!address) return false;
    let verdict = seen.get(address);
    if (verdict === undefined) {
      const bytes = toBytes(address);
      verdict = bytes !== undefined && ranges.some((r) => inRange(bytes, r));
      if (seen.size >= 1024) seen.clear();
      seen.set(address, verdict);
    }
    return verdict;
  };
}

export interface ClientInfo {
  ip: string;
  scheme: string;
}

/**
 * The client's address and scheme. With an untrusted peer, its own address and the connection's
 * scheme. With a trusted peer, the rightmost X-Forwarded-For (or, without it, Forwarded for=)
 * address that is not itself trusted, and X-Forwarded-Proto (or Forwarded proto=).
 */
export function clientInfo(peer: string | undefined, headers: Headers, trusted: TrustTest, connScheme: string): ClientInfo {
  const own = { ip: unmap(peer ?? "unix"), scheme: connScheme };
  // A unix-socket peer is a local process: trusted exactly when loopback is.
  if (!trusted(peer ?? "127.0.0.1")) return own;
  const xff = headers.get("x-forwarded-for");
  const forwarded = xff === null ? headers.get("forwarded") : null;
  if (xff === null && forwarded === null) return own;
  const hops = forwarded ? forwardedFor(forwarded) : xff!.split(",").map((s) => s.trim()).filter(Boolean);
  let ip = own.ip;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (toBytes(hop) === undefined) break;
    ip = unmap(hop);
    if (!trusted(hop)) break;
  }
  const proto = forwarded ? /proto=([a-z]+)/i.exec(forwarded)?.[1] : headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  return { ip, scheme: proto === "http" || proto === "https" ? proto : connScheme };
}

function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const match of header.matchAll(/for=("?)\[?([^\]";,]+)\]?(?::\d+)?\1/gi)) out.push(match[2]!);
  return out;
}

interface Range {
  bytes: Uint8Array;
  bits: number;
}

function parseRange(text: string): Range {
  const [addr, bitsText] = text.split("/");
  const bytes = toBytes(addr!);
  if (!bytes) throw new Error(`not an address: ${text}`);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  return { bytes, bits: Math.min(bits, bytes.length * 8) };
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
function isIP(address: string): 4 | 6 | 0 {
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
