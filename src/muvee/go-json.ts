/**
 * JSON as Go's encoding/json (Go 1.23, the version muvee-oracle is built with) reads it, for
 * go-jwt.ts: the whole input is checked first (syntax, at most 10000 levels of nesting, Go's
 * error text), then kept as a tree that keeps every key in order, duplicates included, so a
 * decoder can apply Go's rules (the last duplicate wins, keys match struct fields
 * case-insensitively with Unicode folding). Strings are unquoted as Go does: each invalid
 * UTF-8 byte and each lone surrogate escape becomes U+FFFD.
 *
 * Iterative (an explicit stack): 10000 levels need no deep JavaScript recursion.
 *
 * @see https://pkg.go.dev/encoding/json
 */

export type GoJson =
  | { kind: 'object'; entries: [string, GoJson][] }
  | { kind: 'array'; items: GoJson[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

/** encoding/json's maxNestingDepth. */
export const MAX_DEPTH = 10000;

export type GoJsonResult = { ok: true; value: GoJson } | { ok: false; error: string };

const WS = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Go's quoteChar: how a byte is named in a SyntaxError. */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  const special: Record<number, string> = {
    7: '\\a',
    8: '\\b',
    9: '\\t',
    10: '\\n',
    11: '\\v',
    12: '\\f',
    13: '\\r',
    0x5c: '\\\\',
  };
  if (special[c]) return `'${special[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // string(byte) is the rune U+00XX: printable ones as they are (Go's strconv.IsPrint).
  if (c >= 0x80 && (c < 0xa1 || c === 0xad)) return `'\\u00${c.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCharCode(c)}'`;
}

class SyntaxFailure {
  constructor(readonly message: string) {}
}

const fail = (c: number | undefined, context: string): SyntaxFailure =>
  c === undefined
    ? new SyntaxFailure('unexpected end of JSON input')
    : new SyntaxFailure(`invalid character ${quoteChar(c)} ${context}`);

/** One decoded UTF-8 sequence at `i` as Go's utf8.DecodeRune: [rune, size]; invalid = [-1, 1]. */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const n = b.length;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < n && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c0 >= 0xc2 && c0 <= 0xdf)
    return cont(1) ? [((c0 & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2] : [-1, 1];
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    if (!cont(1, lo, hi) || !cont(2)) return [-1, 1];
    return [((c0 & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f), 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    if (!cont(1, lo, hi) || !cont(2) || !cont(3)) return [-1, 1];
    return [
      ((c0 & 0x07) << 18) |
        ((b[i + 1]! & 0x3f) << 12) |
        ((b[i + 2]! & 0x3f) << 6) |
        (b[i + 3]! & 0x3f),
      4,
    ];
  }
  return [-1, 1];
}

const hexValue = (c: number | undefined): number =>
  c === undefined
    ? -1
    : c >= 0x30 && c <= 0x39
      ? c - 0x30
      : c >= 0x61 && c <= 0x66
        ? c - 0x57
        : c >= 0x41 && c <= 0x46
          ? c - 0x37
          : -1;

function u4(b: Uint8Array, i: number): number {
  let r = 0;
  for (let k = 0; k < 4; k++) {
    const h = hexValue(b[i + k]);
    if (h < 0) return -1;
    r = r * 16 + h;
  }
  return r;
}

/**
 * Parses one JSON value that fills `bytes` (whitespace around it allowed), as Go's
 * json.Unmarshal checks it before decoding; an error is Go's SyntaxError text.
 */
export function parseGoJson(bytes: Uint8Array): GoJsonResult {
  try {
    return { ok: true, value: parse(bytes) };
  } catch (error) {
    if (error instanceof SyntaxFailure) return { ok: false, error: error.message };
    throw error;
  }
}

type Frame =
  | { kind: 'object'; entries: [string, GoJson][]; key: string | undefined }
  | { kind: 'array'; items: GoJson[] };

function parse(b: Uint8Array): GoJson {
  const n = b.length;
  let i = 0;
  const skip = () => {
    while (i < n && WS(b[i]!)) i++;
  };
  const stack: Frame[] = [];
  let result: GoJson | undefined;

  // Reads a string starting at the quote at i; leaves i after the closing quote.
  const readString = (): string => {
    const start = ++i;
    let plain = true;
    for (;;) {
      if (i >= n) throw fail(undefined, '');
      const c = b[i]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        plain = false;
        const e = b[i + 1];
        if (e === undefined) throw fail(undefined, '');
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            const h = b[i + k];
            if (h === undefined) throw fail(undefined, '');
            if (hexValue(h) < 0) throw fail(h, 'in \\u hexadecimal character escape');
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) throw fail(e, 'in string escape code');
        i += 2;
        continue;
      }
      if (c < 0x20) throw fail(c, 'in string literal');
      if (c >= 0x80) {
        const [rune, size] = decodeRune(b, i);
        if (rune < 0) plain = false;
        i += size;
        continue;
      }
      i++;
    }
    const end = i++;
    if (plain) return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
    return unquote(b, start, end);
  };

  const readNumber = (): string => {
    const start = i;
    const context = () =>
      stack.length === 0
        ? 'after top-level value'
        : stack[stack.length - 1]!.kind === 'array'
          ? 'after array element'
          : 'after object key:value pair';
    if (b[i] === 0x2d) {
      i++;
      const c = b[i];
      if (c === undefined) throw fail(undefined, '');
      if (!(c >= 0x30 && c <= 0x39)) throw fail(c, 'in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (i < n && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    if (b[i] === 0x2e) {
      i++;
      const c = b[i];
      if (c === undefined) throw fail(undefined, '');
      if (!(c >= 0x30 && c <= 0x39)) throw fail(c, 'after decimal point in numeric literal');
      while (i < n && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      const c = b[i];
      if (c === undefined) throw fail(undefined, '');
      if (!(c >= 0x30 && c <= 0x39)) throw fail(c, 'in exponent of numeric literal');
      while (i < n && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    }
    // A digit right after a leading 0 ends the number: Go then names the next character.
    const c = b[i];
    if (c !== undefined && !WS(c) && c !== 0x2c && c !== 0x5d && c !== 0x7d)
      throw fail(c, context());
    return Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1');
  };

  const readLiteral = (word: string): void => {
    for (let k = 1; k < word.length; k++) {
      const c = b[i + k];
      if (c === undefined) throw fail(undefined, '');
      if (c !== word.charCodeAt(k)) throw fail(c, `in literal ${word} (expecting '${word[k]}')`);
    }
    i += word.length;
  };

  // A complete value: into its parent, or the result.
  const emit = (value: GoJson) => {
    const top = stack[stack.length - 1];
    if (!top) result = value;
    else if (top.kind === 'array') top.items.push(value);
    else {
      top.entries.push([top.key!, value]);
      top.key = undefined;
    }
  };

  // After a value (or an opening bracket): what may come next, until a value must start.
  const afterValue = (): void => {
    for (;;) {
      skip();
      const top = stack[stack.length - 1];
      if (!top) {
        if (i < n) throw fail(b[i], 'after top-level value');
        return;
      }
      const c = b[i];
      if (c === undefined) throw fail(undefined, '');
      if (top.kind === 'array') {
        if (c === 0x2c) {
          i++;
          return;
        }
        if (c !== 0x5d) throw fail(c, 'after array element');
      } else {
        if (c === 0x2c) {
          i++;
          readKey('looking for beginning of object key string');
          return;
        }
        if (c !== 0x7d) throw fail(c, 'after object key:value pair');
      }
      i++;
      stack.pop();
      emit(
        top.kind === 'array'
          ? { kind: 'array', items: top.items }
          : { kind: 'object', entries: top.entries },
      );
    }
  };

  const readKey = (context: string): void => {
    skip();
    const c = b[i];
    if (c === undefined) throw fail(undefined, '');
    if (c !== 0x22) throw fail(c, context);
    const key = readString();
    skip();
    const colon = b[i];
    if (colon === undefined) throw fail(undefined, '');
    if (colon !== 0x3a) throw fail(colon, 'after object key');
    i++;
    (stack[stack.length - 1] as Extract<Frame, { kind: 'object' }>).key = key;
  };

  const push = (frame: Frame, c: number) => {
    if (stack.length >= MAX_DEPTH) throw fail(c, 'exceeded max depth');
    stack.push(frame);
  };

  for (;;) {
    skip();
    const c = b[i];
    if (c === undefined) throw fail(undefined, '');
    if (c === 0x7b) {
      push({ kind: 'object', entries: [], key: undefined }, c);
      i++;
      skip();
      if (b[i] === 0x7d) {
        i++;
        stack.pop();
        emit({ kind: 'object', entries: [] });
      } else {
        readKey('looking for beginning of object key string');
        continue;
      }
    } else if (c === 0x5b) {
      push({ kind: 'array', items: [] }, c);
      i++;
      skip();
      if (b[i] === 0x5d) {
        i++;
        stack.pop();
        emit({ kind: 'array', items: [] });
      } else continue;
    } else if (c === 0x22) emit({ kind: 'string', value: readString() });
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) emit({ kind: 'number', text: readNumber() });
    else if (c === 0x74) {
      readLiteral('true');
      emit({ kind: 'bool', value: true });
    } else if (c === 0x66) {
      readLiteral('false');
      emit({ kind: 'bool', value: false });
    } else if (c === 0x6e) {
      readLiteral('null');
      emit({ kind: 'null' });
    } else throw fail(c, 'looking for beginning of value');
    afterValue();
    if (stack.length === 0) return result!;
  }
}

/** Go's unquote of a string's bytes (escapes, surrogates, invalid UTF-8 → U+FFFD). */
function unquote(b: Uint8Array, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c === 0x5c) {
      const e = b[i + 1]!;
      if (e === 0x75) {
        let rune = u4(b, i + 2);
        i += 6;
        if (rune >= 0xd800 && rune < 0xe000) {
          // A high surrogate followed by \u and a low one is one rune; anything else U+FFFD.
          const low = b[i] === 0x5c && b[i + 1] === 0x75 ? u4(b, i + 2) : -1;
          if (rune < 0xdc00 && low >= 0xdc00 && low < 0xe000) {
            out += String.fromCharCode(rune, low);
            i += 6;
            continue;
          }
          rune = 0xfffd;
        }
        out += String.fromCharCode(rune);
        continue;
      }
      const simple: Record<number, string> = {
        0x22: '"',
        0x5c: '\\',
        0x2f: '/',
        0x62: '\b',
        0x66: '\f',
        0x6e: '\n',
        0x72: '\r',
        0x74: '\t',
      };
      out += simple[e]!;
      i += 2;
      continue;
    }
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const [rune, size] = decodeRune(b, i);
    out += rune < 0 ? '\ufffd' : String.fromCodePoint(rune);
    i += size;
  }
  return out;
}

/** Levels of nesting shown by {@link goJsonToJs}: deeper values become a short note. */
export const SHOWN_DEPTH = 64;

/**
 * The value as JavaScript (for display): the last duplicate key wins, numbers as Number();
 * what lies deeper than SHOWN_DEPTH levels becomes a string saying so (JSON.stringify and
 * any recursive printer stay within the stack).
 */
export function goJsonToJs(root: GoJson): unknown {
  let out: unknown;
  const work: [GoJson, (x: unknown) => void, number][] = [[root, (x) => (out = x), 1]];
  // Breadth-first, without recursion; an object's keys keep their first position.
  for (let k = 0; k < work.length; k++) {
    const [v, set, depth] = work[k]!;
    if ((v.kind === 'object' || v.kind === 'array') && depth > SHOWN_DEPTH) {
      set(`[${v.kind} nested deeper than ${SHOWN_DEPTH} levels, not shown]`);
      continue;
    }
    switch (v.kind) {
      case 'object': {
        const target: Record<string, unknown> = {};
        set(target);
        for (const [key, child] of v.entries) {
          const define = (x: unknown) =>
            Object.defineProperty(target, key, {
              value: x,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          work.push([child, define, depth + 1]);
        }
        break;
      }
      case 'array': {
        const target: unknown[] = new Array(v.items.length);
        set(target);
        v.items.forEach((child, i) => work.push([child, (x) => (target[i] = x), depth + 1]));
        break;
      }
      case 'string':
      case 'bool':
        set(v.value);
        break;
      case 'number':
        set(Number(v.text));
        break;
      case 'null':
        set(null);
    }
  }
  return out;
}

/** The name of a JSON value's kind in Go's UnmarshalTypeError ("number", "object", ...). */
export function goKindName(v: GoJson): string {
  return v.kind === 'bool' ? 'bool' : v.kind;
}
