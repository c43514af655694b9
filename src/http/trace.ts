// W3C Trace Context (Level 1, https://www.w3.org/TR/trace-context/): the caller's `traceparent`
// parsed, so handlers can continue its trace and the access line can name it. No tracing SDK: an
// invalid header is ignored as the spec says (the request is served as if it had none).

/** A valid incoming trace context, as handlers see it in c.env.trace. */
export interface TraceContext {
  /** 32 lower-case hex digits, not all zeros: the id of the whole trace (the access line's `traceId`). */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zeros: the caller's span, the parent of what this request does. */
  readonly parentId: string;
  /** The sampled bit of trace-flags: the caller may be recording this trace. */
  readonly sampled: boolean;
  /** The `traceparent` header as received, to forward as it is. */
  readonly traceparent: string;
  /** The `tracestate` header as received (vendor data to forward untouched), when there was one. */
  readonly tracestate?: string;
}

/** version-traceid-parentid-flags, lower-case hex only: the first 55 characters of any version. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/;
const LENGTH_V00 = 55;

/**
 * The parts of a `traceparent` value, or undefined when it is invalid: not lower-case hex, version
 * ff, an all-zero trace id or parent id, version 00 not exactly 55 characters, or a higher version
 * whose first four fields are not followed by the end or a `-` (a higher version is read by its
 * first four fields and may carry more, as the spec asks of a reader that knows only version 00).
 */
export function parseTraceparent(value: string | null | undefined): Omit<TraceContext, "tracestate"> | undefined {
  if (value === null || value === undefined || value.length < LENGTH_V00) return undefined;
  const parts = TRACEPARENT.exec(value);
  if (!parts) return undefined;
  const [, version, traceId, parentId, flags] = parts as unknown as [string, string, string, string, string];
  if (version === "ff") return undefined;
  if (version === "00" ? value.length !== LENGTH_V00 : value.length > LENGTH_V00 && value[LENGTH_V00] !== "-") return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1, traceparent: value };
}

/**
 * The request's trace context from its headers: `tracestate` is read only when `traceparent` is
 * valid (the spec discards it otherwise), so a request without one costs a single header lookup.
 */
export function traceOf(headers: { get(name: string): string | null }): TraceContext | undefined {
  const parent = parseTraceparent(headers.get("traceparent"));
  if (!parent) return undefined;
  const tracestate = headers.get("tracestate");
  return tracestate ? { ...parent, tracestate } : parent;
}
