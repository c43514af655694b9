// Finds the C library for bun:ffi on glibc and musl systems alike: a musl build (Alpine) has no
// libc.so.6, and an unguarded dlopen of it would stop rodent from starting.

/** The names tried, in order: glibc's soname, then musl's (the library and its loader are one file). */
export function libcCandidates(arch: string = process.arch): string[] {
  const machine = arch === "x64" ? "x86_64" : arch === "arm64" ? "aarch64" : arch;
  return ["libc.so.6", `libc.musl-${machine}.so.1`, `/lib/ld-musl-${machine}.so.1`];
}

/** No candidate could be opened: names what was tried. */
export class LibcNotFoundError extends Error {}

/**
 * Opens the first candidate that `open` (bun:ffi's dlopen with the wanted symbols bound) accepts
 * and returns it with its name; throws LibcNotFoundError when none does.
 */
export function openLibc<T>(open: (name: string) => T, candidates: string[] = libcCandidates()): { lib: T; name: string } {
  for (const name of candidates) {
    try {
      return { lib: open(name), name };
    } catch {
      // not this one: try the next name
    }
  }
  throw new LibcNotFoundError(`no C library found for bun:ffi (tried ${candidates.join(", ")})`);
}
