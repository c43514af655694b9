// `rodent version`: what this build is.
import { BUILD_TIME, COMMIT, VERSION } from "../build-info";
import { runtimeName } from "../http/adapter";
import { EXIT } from "../kernel/exit-codes";
import type { Command } from "./command";

export const version: Command = {
  name: "version",
  summary: "Print the version, commit, build time and runtime.",
  flags: { json: { type: "boolean", description: "print as JSON" } },
  async run({ flags }) {
    const info = { version: VERSION, commit: COMMIT, buildTime: BUILD_TIME, runtime: runtimeName() };
    process.stdout.write(
      flags.json ? `${JSON.stringify(info)}\n` : `rodent ${info.version} (commit ${info.commit}, built ${info.buildTime}, ${info.runtime})\n`,
    );
    return EXIT.ok;
  },
};
