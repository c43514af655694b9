// The kit's error answer: the JSON shape rodent's own routes use, so a client (and a log search)
// sees one shape whichever route failed.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { RodentEnv } from "./types";

/**
 * A JSON error in rodent's shape, `{"error": "...", "status": 400, "requestId": "...", ...fields}`,
 * with Content-Length set (so the access line reports its size). `error` should name the field or
 * parameter at fault and what to send instead; `fields` adds to the object (rodent's own keys win).
 */
export function problem(c: Context<RodentEnv>, status: ContentfulStatusCode, error: string, fields: Record<string, unknown> = {}): Response {
  const text = JSON.stringify({ ...fields, error, status, requestId: c.env.requestId });
  return new Response(text, {
    status,
    headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
  });
}
