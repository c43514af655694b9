// Which file the logs go to, if any: logs.path when logs.output is file (--log-file sets both).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config/schema";
import { defaultLogPath } from "../instance/paths";

export function logFilePath(config: Config): string | undefined {
  if (config.logs.output !== "file") return undefined;
  if (config.logs.path) return config.logs.path;
  const path = defaultLogPath();
  // the default directory is ours to create; a configured one is the operator's
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  return path;
}
