// Which C library the Bun sd_notify transport opens, and the fall-back to systemd-notify(1) when
// none opens (a musl build has no libc.so.6), with dlopen injected.
import { describe, expect, test } from "bun:test";
import { LibcNotFoundError, libcCandidates, openLibc } from "../../src/ffi/libc";
import { transport as bunTransport, type NotifyLibc } from "../../src/systemd/transport/bun";
import { transport, type Transport } from "../../src/systemd/transport/index";

/** A dlopen that opens only `accepts` and records every name it was asked for. */
function fakeDlopen(accepts: string | undefined, sent: number[] = []) {
  const asked: string[] = [];
  const open = (name: string): NotifyLibc => {
    asked.push(name);
    if (name !== accepts) throw new Error(`cannot open ${name}`);
    return {
      symbols: {
        socket: () => 7,
        sendto: (_fd, _data, length) => (sent.push(length), length),
        close: () => 0,
        clock_gettime: () => 0,
      },
    };
  };
  return { open, asked };
}

describe("finding libc", () => {
  test("glibc's soname first, then musl's library and loader names for the machine", () => {
    expect(libcCandidates("x64")).toEqual(["libc.so.6", "libc.musl-x86_64.so.1", "/lib/ld-musl-x86_64.so.1"]);
    expect(libcCandidates("arm64")).toEqual(["libc.so.6", "libc.musl-aarch64.so.1", "/lib/ld-musl-aarch64.so.1"]);
  });

  test("on musl (no libc.so.6) the musl library is opened", () => {
    const musl = libcCandidates()[1]!;
    const { open, asked } = fakeDlopen(musl);
    expect(openLibc(open).name).toBe(musl);
    expect(asked).toEqual(["libc.so.6", musl]);
  });

  test("when nothing opens, the error names every name tried", () => {
    const { open } = fakeDlopen(undefined);
    expect(() => openLibc(open)).toThrow(LibcNotFoundError);
    expect(() => openLibc(open)).toThrow(`no C library found for bun:ffi (tried ${libcCandidates().join(", ")})`);
  });
});

describe("choosing the sd_notify transport on Bun", () => {
  const viaNode: Transport = { send: () => "sent by systemd-notify", monotonicUsec: () => 0n };

  test("a musl libc carries the datagrams itself, with no warning", async () => {
    const sent: number[] = [];
    const { open } = fakeDlopen(libcCandidates()[2], sent);
    const warnings: string[] = [];
    const chosen = await transport("@notify", (m) => warnings.push(m), { bun: (s) => bunTransport(s, open), node: async () => viaNode });
    expect(chosen.send("READY=1")).toBeUndefined();
    expect(sent).toEqual(["READY=1".length]);
    expect(warnings).toEqual([]);
  });

  test("no libc at all: systemd-notify(1) instead, said in one line", async () => {
    const { open } = fakeDlopen(undefined);
    const warnings: string[] = [];
    const chosen = await transport("@notify", (m) => warnings.push(m), { bun: (s) => bunTransport(s, open), node: async () => viaNode });
    expect(chosen).toBe(viaNode);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toStartWith("no C library found for bun:ffi (tried libc.so.6, ");
    expect(warnings[0]).toContain("notifying systemd through systemd-notify(1) instead");
  });

  test("any other failure is not hidden by the fall-back", async () => {
    const broken = async () => {
      throw new Error("bug");
    };
    await expect(transport("@notify", () => {}, { bun: broken, node: async () => viaNode })).rejects.toThrow("bug");
  });
});
