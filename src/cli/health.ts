// `rodent health`: ask the configured instance's health endpoint, with a short timeout and retries.
import { loadConfig } from "../config/load";
import { EXIT } from "../kernel/exit-codes";
import type { Command } from "./command";
import { finish, jsonFlag } from "./outcome";
import { controlConfigFlag } from "./config-flags";
import { controlConfigInput } from "./target";
import { parsePort } from "./command";
import { program } from "../program";

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
        return finish("health", flags, EXIT.ok, { text: `healthy: ${where} answered ${result.status} ${result.body}`, fields: { healthy: true, url: where, status: result.status, body: bodyOf(result.body) } });
      }
      last = result.why;
      if (attempt < 3) await new Promise((r) => setTimeout(r, 300));
    }
    return finish("health", flags, EXIT.failure, { text: `unhealthy: ${where}: ${last}`, fields: { healthy: false, url: where, attempts: 3 } });
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

async function ask(socket: string | undefined, host: string, port: number, path: string): Promise<{ ok: true; status: number; body: string } | { ok: false; why: string }> {
  const { request } = await import("node:http");
  return new Promise((resolve) => {
    const req = request({ ...(socket ? { socketPath: socket } : { host, port }), path, timeout: 2000, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        resolve(status === 200 ? { ok: true, status, body: body.trim() } : { ok: false, why: `answered ${status} ${body.trim()}` });
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 2 s")));
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, why: error.code === "ECONNREFUSED" ? `connection refused: is ${program().name} running?` : error.message }));
    req.end();
  });
}
