/**
 * The one sanitiser for untrusted text on its way to a terminal: DingTalk's data (any org
 * member sets their own nickname), stored rows, token claims, configuration values, error
 * messages built from them. Control characters (C0, DEL, C1: escape sequences that move the
 * cursor, recolour or retitle a terminal), bidirectional controls, line/paragraph separators
 * and invisible characters (zero-width spaces and joiners, word joiners, the byte-order mark,
 * fillers, tags: they make two different names look the same) are shown escaped (`\x1b`,
 * `\u202e`, `\u200b`); everything else is kept.
 *
 * By construction (issue 20): Output's methods take {@link Safe} text, which only the
 * {@link line} and {@link block} tags (every interpolated value sanitised unless it is itself
 * Safe), Output's styles, and an explicit {@link trusted} make. A plain string does not
 * type-check there, so a new call site cannot print an untrusted value raw by forgetting.
 *
 * JSON output has one rule too ({@link jsonText}): JSON.stringify escapes C0 but leaves C1,
 * DEL, bidirectional controls, LS/PS and invisible characters raw; they are escaped as `\uXXXX`.
 */
// eslint-disable-next-line no-control-regex
const INVISIBLE =
  '\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufff8';
const UNSAFE = new RegExp(
  `[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${INVISIBLE}]|[\\u{e0000}-\\u{e0fff}\\u{1d173}-\\u{1d17a}]`,
  'gu',
);
const UNSAFE_OR_NEWLINE = new RegExp(
  `[\\u0000-\\u001f\\u007f-\\u009f${INVISIBLE}]|[\\u{e0000}-\\u{e0fff}\\u{1d173}-\\u{1d17a}]`,
  'gu',
);
/** What {@link jsonText} escapes (JSON.stringify has escaped C0 already). */
const JSON_UNSAFE = new RegExp(
  `[\\u007f-\\u009f${INVISIBLE}]|[\\u{e0000}-\\u{e0fff}\\u{1d173}-\\u{1d17a}]`,
  'gu',
);

function escape(ch: string): string {
  const code = ch.codePointAt(0)!;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : code <= 0xffff
      ? `\\u${code.toString(16).padStart(4, '0')}`
      : `\\u{${code.toString(16)}}`;
}

/** Pure: `text` safe for a terminal, on one line (newlines and tabs escaped too). */
export function safe(value: unknown): string {
  return String(value).replace(UNSAFE_OR_NEWLINE, escape);
}

/** Pure: like {@link safe}, but keeps newlines and tabs (multi-line messages). */
export function safeText(value: unknown): string {
  return String(value).replace(UNSAFE, escape);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

/**
 * Pure: whether the text holds a control character (C0, DEL, C1), a bidirectional control or
 * a line/paragraph separator (invisible characters are not counted: {@link invisibleIn}).
 */
export function hasControl(value: string): boolean {
  return CONTROL.test(value);
}

/** Pure: the invisible characters of `value` (as `U+200B`), for a warning; [] when none. */
export function invisibleIn(value: string): string[] {
  const found = new Set<string>();
  for (const match of value.matchAll(UNSAFE_OR_NEWLINE)) {
    const cp = match[0].codePointAt(0)!;
    if (cp > 0x9f) found.add(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  return [...found];
}

/**
 * Pure: the one JSON text of every `--json` output: JSON.stringify, then C1 controls, DEL,
 * bidirectional controls, LS/PS and invisible characters escaped as `\uXXXX` (they occur only
 * inside strings, where the escape means the same character to any JSON reader).
 */
export function jsonText(value: unknown, indent?: number): string {
  return escapeJson(JSON.stringify(value, null, indent));
}

/** Pure: {@link jsonText}'s escapes applied to JSON text made elsewhere (SQLite's json). */
export function escapeJson(json: string): string {
  return json.replace(JSON_UNSAFE, (ch) => {
    const code = ch.codePointAt(0)!;
    if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
    const hi = 0xd800 + ((code - 0x10000) >> 10);
    const lo = 0xdc00 + ((code - 0x10000) & 0x3ff);
    return `\\u${hi.toString(16)}\\u${lo.toString(16)}`;
  });
}

/**
 * Marks Safe text across copies of this module: verify-token's fast path carries its own (one
 * file of dist/), and its errors are printed by the program's (`instanceof` would take its red
 * ✗ for untrusted text and print the escape codes as text).
 */
const SAFE = Symbol.for('muvee-dingtalk.Safe');

/** Text that is safe for a terminal: made by {@link line}, {@link block}, a style or {@link trusted}. */
export class Safe {
  readonly [SAFE] = true;
  /** Use {@link line}, {@link block} or {@link trusted}. */
  private constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  /** @internal the one way in; exported functions below are the public ones. */
  static of(text: string): Safe {
    return new Safe(text);
  }
}

/** Is `value` Safe text, made by this copy of the module or another? (Not JSON: no symbol keys.) */
export function isSafe(value: unknown): value is Safe {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [SAFE]?: unknown })[SAFE] === true &&
    typeof (value as { text?: unknown }).text === 'string'
  );
}

/** A value for a template: Safe as it is, anything else sanitised with `clean`. */
function part(value: unknown, clean: (value: unknown) => string): string {
  return isSafe(value) ? value.text : clean(value);
}

/**
 * Tag: one line of output; the template's own text is the program's, every `${value}` is
 * sanitised (newlines and tabs too) unless it is already {@link Safe}.
 */
export function line(strings: TemplateStringsArray, ...values: unknown[]): Safe {
  let out = strings[0]!;
  values.forEach((value, i) => (out += part(value, safe) + strings[i + 1]!));
  return Safe.of(out);
}

/** Tag: like {@link line}, but interpolated values keep their newlines and tabs. */
export function block(strings: TemplateStringsArray, ...values: unknown[]): Safe {
  let out = strings[0]!;
  values.forEach((value, i) => (out += part(value, safeText) + strings[i + 1]!));
  return Safe.of(out);
}

/** Pure: a value as Safe text on one line: sanitised unless it is Safe already. */
export function safeValue(value: unknown): Safe {
  return isSafe(value) ? value : Safe.of(safe(value));
}

/**
 * Text the program wrote itself (a constant, a help text, a number it computed), marked
 * trusted: printed as it is. Never for anything that holds a value from outside.
 */
export function trusted(text: string): Safe {
  return Safe.of(text);
}

/** Pure: Safe parts joined by a separator. */
export function joinSafe(parts: readonly (Safe | string)[], separator = ''): Safe {
  return Safe.of(parts.map((p) => part(p, safe)).join(separator));
}
