// The platform this build runs on, as the release archives name it: os, arch and C library.
import { platform, arch } from "node:process";

declare const RODENT_TARGET: string | undefined;

export interface BuildTarget {
  /** The release archive's name for it: "linux-x64", "linux-arm64-musl", "darwin-arm64", "node". */
  name: string;
  os: string;
  arch: string;
  /** "glibc" or "musl" on Linux; "system" elsewhere (macOS has one C library). */
  libc: string;
}

/**
 * A compiled binary names the target it was built for (build.ts defines RODENT_TARGET); the Node
 * bundle runs wherever Node does, so it names "node" and the platform it finds itself on.
 */
export function buildTarget(): BuildTarget {
  const name = typeof RODENT_TARGET === "string" ? RODENT_TARGET : "dev";
  if (name !== "node" && name !== "dev") {
    const [os, cpu, libc] = name.split("-");
    return { name, os: os!, arch: cpu!, libc: os === "linux" ? (libc === "musl" ? "musl" : "glibc") : "system" };
  }
  return { name, os: platform, arch, libc: platform === "linux" ? (runsOnGlibc() ? "glibc" : "musl") : "system" };
}

function runsOnGlibc(): boolean {
  const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return Boolean(report?.header?.glibcVersionRuntime);
}
