// The request target as rodent reads it: its path for routing, and the form the access log
// shows, with secret parameter values redacted. Plain string slicing: it runs per request.

/** The path of a request URL without building a URL object. */
export function pathOf(url: string): string {
  const start = pathStart(url);
  if (start < 0) return "/";
  const end = url.indexOf("?", start);
  return end < 0 ? url.slice(start) : url.slice(start, end);
}

/**
 * Where the path begins: after scheme://host, or at 0 for a relative URL (the adapters make every
 * URL absolute, but a URL sliced as if it had a host it lacks routes /ready to "/").
 */
function pathStart(url: string): number {
  if (url.charCodeAt(0) === 47) return 0;
  const scheme = url.indexOf("://");
  return scheme < 0 ? -1 : url.indexOf("/", scheme + 3);
}

/**
 * Parameter names whose values are secrets, matched anywhere in the (decoded) name: api_token,
 * X-Amz-Signature, sig, pwd, passphrase, jwt, code (OAuth), otp, credential, jsessionid, PHPSESSID…
 * Redacting a harmless value (zipcode) costs a log reader little; logging a secret costs more.
 */
const SECRET_NAME = /token|pass|pwd|secret|key|auth|sig|sess|sid|jwt|code|otp|credential|cookie|bearer|private/i;

/**
 * The request target for the access log with the values of secret-named parameters replaced by
 * REDACTED: query parameters separated by & or ; and path parameters (/app;jsessionid=…). The rest
 * is kept as the client sent it.
 */
export function redactedTarget(url: string): string {
  const start = pathStart(url);
  const target = start < 0 ? "/" : url.slice(start);
  if (!target.includes(";") && !target.includes("?")) return target;
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const cleanPath = path.includes(";") ? path.replace(/;([^;/=]*)=([^;/]*)/g, (all, name: string) => (isSecret(name) ? `;${name}=REDACTED` : all)) : path;
  if (q < 0) return cleanPath;
  const query = target.slice(q + 1).replace(/(^|[&;])([^&;=]*)=([^&;]*)/g, (all, sep: string, name: string) => (isSecret(name) ? `${sep}${name}=REDACTED` : all));
  return `${cleanPath}?${query}`;
}

function isSecret(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replaceAll("+", " "));
  } catch {
    // not valid percent-encoding: match the raw name
  }
  return SECRET_NAME.test(decoded);
}

export function schemeOf(url: string): string {
  return url.startsWith("https:") ? "https" : "http";
}
