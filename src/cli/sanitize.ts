/**
 * The one sanitiser for untrusted text on its way to a terminal: DingTalk's data (any org
 * member sets their own nickname), stored rows, token claims, configuration values, error
 * messages built from them. Control characters (C0, DEL, C1: escape sequences that move the
 * cursor, recolour or retitle a terminal), bidirectional overrides and line/paragraph
 * separators are shown escaped (`\x1b`, `\u202e`); everything else is kept. JSON output
 * escapes by construction and does not need this.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu;
// eslint-disable-next-line no-control-regex
const UNSAFE_OR_NEWLINE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu;

function escape(ch: string): string {
  const code = ch.codePointAt(0)!;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Pure: `text` safe for a terminal, on one line (newlines and tabs escaped too). */
export function safe(value: unknown): string {
  return String(value).replace(UNSAFE_OR_NEWLINE, escape);
}

/** Pure: like {@link safe}, but keeps newlines and tabs (multi-line messages). */
export function safeText(value: unknown): string {
  return String(value).replace(UNSAFE, escape);
}

/** Pure: whether the text holds anything {@link safe} would escape. */
export function hasControl(value: string): boolean {
  UNSAFE_OR_NEWLINE.lastIndex = 0;
  return UNSAFE_OR_NEWLINE.test(value);
}
