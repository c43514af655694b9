// `version`: what this build is: the app's name and version, and the rodent it is built on.
import { BUILD_TIME, COMMIT, VERSION } from "../build-info";
import { buildTarget } from "../build-target";
import { runtimeName } from "../http/adapter";
import { EXIT } from "../kernel/exit-codes";
import { program } from "../program";
import type { Command } from "./command";

export const version: Command = {
  name: "version",
  summary: "Print the version, commit, build time, runtime and target (os, arch, libc).",
  flags: { json: { type: "boolean", description: "print as JSON" } },
  async run({ flags }) {
    const { name, version } = program();
    const target = buildTarget();
    const info = { name, version, rodent: VERSION, commit: COMMIT, buildTime: BUILD_TIME, runtime: runtimeName(), target: target.name, os: target.os, arch: target.arch, libc: target.libc };
    const builtOn = name === "rodent" ? "" : `rodent ${VERSION}, `;
    process.stdout.write(
      flags.json
        ? `${JSON.stringify(info)}\n`
        : `${name} ${version} (${builtOn}commit ${info.commit}, built ${info.buildTime}, ${info.runtime}, ${target.name}: ${target.os} ${target.arch} ${target.libc})\n`,
    );
    return EXIT.ok;
  },
};
