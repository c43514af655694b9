// What this build is; build.ts defines the constants, `bun run` from source falls back to "dev".
declare const RODENT_VERSION: string | undefined;
declare const RODENT_COMMIT: string | undefined;
declare const RODENT_BUILD_TIME: string | undefined;
declare const RODENT_APP_VERSION: string | undefined;

export const VERSION = typeof RODENT_VERSION === "string" ? RODENT_VERSION : "0.0.0-dev";
export const COMMIT = typeof RODENT_COMMIT === "string" ? RODENT_COMMIT : "unknown";
export const BUILD_TIME = typeof RODENT_BUILD_TIME === "string" ? RODENT_BUILD_TIME : "unknown";
/** The application's version as `build.ts --app-version` (or its package.json) embedded it. */
export const APP_VERSION = typeof RODENT_APP_VERSION === "string" ? RODENT_APP_VERSION : "0.0.0-dev";
