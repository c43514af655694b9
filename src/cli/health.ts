// `rodent health`: ask the configured instance's health endpoint, with a short timeout and retries.
import { loadConfig } from "../config/load";
import { EXIT } from "../kernel/exit-codes";
import type { Command } from "./command";
import { finish, jsonFlag } from "./outcome";
import { controlConfigFlag } from "./config-flags";
import { controlConfigInput } from "./target";
import { parsePort } from "./command";
import { program } from "../program";
import { oneLine } from "../log/escape";

/** How long one attempt may take, the whole answer included (a port that drips bytes is given up on). */
const ATTEMPT_MS = 2000;
/** The most of an answer's body read: rodent's is a few hundred bytes; the rest is not waited for. */
const MAX_BODY_BYTES = 64 * 1024;

export const health: Command = {
  name: "health",
  summary: "Query the health endpoint of the configured instance; exit 0 if healthy.",
  flags: {
    ...controlConfigFlag,
    host: { type: "string", value: "HOST", description: "host to ask (default: server.host)" },
    port: { type: "string", short: "p", value: "PORT", description: "port to ask (default: server.port)", parse: parsePort },
    socket: { type: "string", value: "PATH", description: "unix socket to ask (default: server.socket)" },
    ...jsonFlag,
  },
  async run({ flags }) {
    const overrides: Record<string, unknown> = {};
    if (flags.host !== undefined) overrides["server.host"] = flags.host;
    if (flags.port !== undefined) overrides["server.port"] = flags.port;
    if (flags.socket !== undefined) overrides["server.socket"] = flags.socket;
    const { config } = await loadConfig(controlConfigInput(flags, overrides));
    const socket = flags.host === undefined && flags.port === undefined ? config.server.socket : (flags.socket as string | undefined);
    const host = config.server.host === "0.0.0.0" ? "127.0.0.1" : config.server.host === "::" ? "::1" : config.server.host;
    const where = socket ? `unix:${socket}${config.health.endpoint}` : `http://${host.includes(":") ? `[${host}]` : host}:${config.server.port}${config.health.endpoint}`;
    let last = "";
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await ask(socket, host, config.server.port, config.health.endpoint);
      if (result.ok) {
        // whatever answers on the port may not be rodent (another user's process): its words are escaped
        return finish("health", flags, EXIT.ok, { text: oneLine(`healthy: ${where} answered ${result.status} ${result.body}`), fields: { healthy: true, url: where, status: result.status, body: bodyOf(result.body) } });
      }
      last = result.why;
      if (attempt < 3) await new Promise((r) => setTimeout(r, 300));
    }
    return finish("health", flags, EXIT.failure, { text: oneLine(`unhealthy: ${where}: ${last}`), fields: { healthy: false, url: where, attempts: 3 } });
  },
};

/** The endpoint's answer as JSON when it is JSON (rodent's is), else the text. */
function bodyOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One attempt: the status and body (at most MAX_BODY_BYTES of it) within ATTEMPT_MS for the whole
 * answer, not just between two packets, or why not.
 */
async function ask(socket: string | undefined, host: string, port: number, path: string): Promise<{ ok: true; status: number; body: string } | { ok: false; why: string }> {
  const { request } = await import("node:http");
  return new Promise((resolve) => {
    let body = "";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (result: { ok: true; status: number; body: string } | { ok: false; why: string }) => {
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const answered = (status: number) => done(status === 200 ? { ok: true, status, body: body.trim() } : { ok: false, why: `answered ${status} ${body.trim()}` });
    const req = request({ ...(socket ? { socketPath: socket } : { host, port }), path, headers: { connection: "close" } }, (res) => {
      const status = res.statusCode ?? 0;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
        if (Buffer.byteLength(body) >= MAX_BODY_BYTES) {
          body = Buffer.from(body).subarray(0, MAX_BODY_BYTES).toString("utf8");
          answered(status);
        }
      });
      res.on("end", () => answered(status));
    });
    timer = setTimeout(() => done({ ok: false, why: `no answer within ${ATTEMPT_MS / 1000} s` }), ATTEMPT_MS);
    req.on("error", (error: NodeJS.ErrnoException) => done({ ok: false, why: error.code === "ECONNREFUSED" ? `connection refused: is ${program().name} running?` : error.message }));
    req.end();
  });
}
