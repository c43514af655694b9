// A reproducible .tar.gz: entries in the order given, every owner 0:0 with no names, one fixed
// mtime, modes 0755/0644 only, and a gzip header without a timestamp or file name, so the same
// inputs give the same bytes on any machine and under any umask.
import { gzipSync } from "node:zlib";

export interface TarEntry {
  /** Path inside the archive, "/"-separated; a directory ends without a slash. */
  path: string;
  /** File contents; undefined for a directory. */
  data?: Uint8Array;
  /** Whether the file is executable (0755) or not (0644); directories are 0755. */
  executable?: boolean;
}

const BLOCK = 512;
const RECORD = 20 * BLOCK;

/** The gzipped tar of `entries` (in their order), each stamped with `mtime` (seconds since 1970). */
export function tarGz(entries: readonly TarEntry[], mtime: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.data ?? new Uint8Array(0);
    parts.push(header(entry, data.length, mtime));
    if (entry.data) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(new Uint8Array(pad));
    }
  }
  parts.push(new Uint8Array(2 * BLOCK));
  let size = parts.reduce((n, p) => n + p.length, 0);
  if (size % RECORD) parts.push(new Uint8Array(RECORD - (size % RECORD)));
  size = parts.reduce((n, p) => n + p.length, 0);
  const tar = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    tar.set(p, at);
    at += p.length;
  }
  const gz = gzipSync(tar, { level: 6 });
  // zlib leaves the mtime at 0 and writes no name; the OS byte differs by the platform zlib was
  // built for, so it is fixed to 3 (Unix) as `gzip -n` on Linux writes it.
  gz[9] = 3;
  return gz;
}

function header(entry: TarEntry, size: number, mtime: number): Uint8Array {
  const directory = entry.data === undefined;
  const name = directory ? `${entry.path}/` : entry.path;
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, length: number, text: string) => {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > length) throw new Error(`tar: ${JSON.stringify(text)} does not fit in ${length} bytes`);
    h.set(bytes, offset);
  };
  const octal = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  let prefix = "";
  let rest = name;
  if (new TextEncoder().encode(name).length > 100) {
    const cut = name.lastIndexOf("/", name.length - 2);
    prefix = name.slice(0, cut);
    rest = name.slice(cut + 1);
  }
  put(0, 100, rest);
  octal(100, 8, directory || entry.executable ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, mtime);
  put(148, 8, "        ");
  put(156, 1, directory ? "5" : "0");
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(345, 155, prefix);
  const sum = h.reduce((n, b) => n + b, 0);
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}
