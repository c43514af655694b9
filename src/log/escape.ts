// Keeps control characters that a client can send (a User-Agent with \x9b, a path with \x1b) out
// of log lines as raw bytes: a terminal obeys C0/C1 sequences, and log readers split or choke on
// them. Both formats show them escaped instead.

/** What JSON.stringify leaves raw: DEL, the C1 controls and the two Unicode line separators. */
const JSON_RAW = /[\x7f-\x9f\u2028\u2029]/g;
/** Every control character, for one-line text. */
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
/** Every control character but newline, for messages that are meant to span lines. */
const CONTROLS_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/g;

const unicode = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
const hex = (c: string) => (c.charCodeAt(0) > 0xff ? unicode(c) : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

/** A JSON text with the controls JSON.stringify leaves raw written as \u escapes (still valid JSON). */
export function jsonEscaped(text: string): string {
  return text.replace(JSON_RAW, unicode);
}

/** `text` on one line: every control character written as \xNN (or \uNNNN). */
export function oneLine(text: string): string {
  return text.replace(CONTROLS, hex);
}

/** `text` with every control character but newline written as \xNN (or \uNNNN). */
export function printable(text: string): string {
  return text.replace(CONTROLS_BUT_NEWLINE, hex);
}
