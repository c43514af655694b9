// The per-request counting behind rodent_http_*: a handful of typed-array increments indexed by
// small integers on the request's path; label strings are built only when a scrape asks.
import type { Family, Labels } from "./exposition";

/** Method classes, in label order; anything else is "other". */
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"] as const;
/** Status classes: index 0 is "no response sent" (code="0", as the access line's status 0), then 1xx…5xx. */
const CODES = ["0", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/**
 * Upper bounds of the request-duration histogram, in seconds. Prometheus' client default
 * (5 ms … 10 s) starts where an API answering from memory already stops: rodent's own routes
 * answer in tens of microseconds, so 0.5, 1 and 2.5 ms come first; server.requestTimeout defaults
 * to 60 s, so 30 and 60 s tell slow answers from the timeout's 503s instead of lumping both into
 * +Inf. Sixteen bounds: a quick request finds its bucket in one or two comparisons.
 */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The request counters of one instance; `record` is the only call on the request's path. */
export class RequestMetrics {
  private readonly requests = new Float64Array(METHODS.length * CODES.length);
  private readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  private readonly bounds = Float64Array.from(DURATION_BUCKETS);
  private seconds = 0;
  private bytes = 0;

  /**
   * Counts one request: its method, its status (0 when no response went out), the body bytes it
   * sent (null: unknown, counted as 0) and how long it took in milliseconds.
   */
  record(method: string, status: number, bytes: number | null, ms: number): void {
    const code = status < 100 ? 0 : status < 600 ? (status / 100) | 0 : 5;
    this.requests[methodClass(method) * CODES.length + code]!++;
    if (bytes !== null) this.bytes += bytes;
    const s = ms / 1000;
    this.seconds += s;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && s > bounds[i]!) i++;
    this.buckets[i]!++;
  }

  /** The families as they stand: requests by method and status class, durations, bytes. */
  families(): Family[] {
    const series: Array<{ labels: Labels; value: number }> = [];
    for (let m = 0; m < METHODS.length; m++) {
      for (let c = 0; c < CODES.length; c++) {
        const value = this.requests[m * CODES.length + c]!;
        // a label set appears once it was seen; counters never go back to 0
        if (value > 0) series.push({ labels: [["method", METHODS[m]!], ["code", CODES[c]!]], value });
      }
    }
    const cumulative: number[] = [];
    let count = 0;
    for (const n of this.buckets) cumulative.push((count += n));
    return [
      { type: "counter", name: "rodent_http_requests_total", help: "HTTP requests answered, by method and status class (code=\"0\": the connection closed before the response went out); probes and scrapes not counted.", series },
      { type: "histogram", name: "rodent_http_request_duration_seconds", help: "Time from a request's arrival to its response being ready to send, in seconds; probes and scrapes not counted.", bounds: DURATION_BUCKETS, series: [{ labels: [], cumulative, sum: this.seconds, count }] },
      { type: "counter", name: "rodent_http_response_body_bytes_total", help: "Response body bytes sent, as their Content-Length declared (a streamed body without one counts 0).", series: [{ labels: [], value: this.bytes }] },
    ];
  }
}

/** The method's index in METHODS; a switch on interned strings, no lookup table. */
function methodClass(method: string): number {
  switch (method) {
    case "GET": return 0;
    case "HEAD": return 1;
    case "POST": return 2;
    case "PUT": return 3;
    case "DELETE": return 4;
    case "PATCH": return 5;
    case "OPTIONS": return 6;
    default: return 7;
  }
}
