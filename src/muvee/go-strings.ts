/**
 * Go's `strings.TrimSpace` and `strings.ToLower`, pure, for the places muvee applies them
 * (its invitation key, its ADMIN_EMAILS and ALLOWED_DOMAINS lists). JavaScript's `trim()` and
 * `toLowerCase()` differ from them, and the difference lets people in or keeps them out:
 *
 * - `trim()` removes U+FEFF (Go keeps it) and keeps U+0085 NEXT LINE (Go removes it);
 * - `toLowerCase()` turns `İ` (U+0130) into `i̇` (i + U+0307; Go: `i`) and a final `Σ` into `ς`
 *   (Go: always `σ`).
 *
 * @see https://pkg.go.dev/strings#TrimSpace
 * @see https://pkg.go.dev/unicode#IsSpace
 */

/** Go's unicode.IsSpace: the Latin-1 spaces (U+0085 and U+00A0 included) and White_Space. */
const GO_SPACE =
  '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const EDGES = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

/** Pure: Go's strings.TrimSpace. */
export function goTrimSpace(text: string): string {
  return text.replace(EDGES, '');
}

/**
 * Capital letters Unicode 16 added (Cyrillic TJE, Latin additions, Garay, Kirat Rai): Node's
 * ICU lowers them, Go 1.23's unicode tables (Unicode 15.0, muvee-oracle's Go) keep them. Measured
 * over every code point below U+20000 against muvee-oracle's CreateInvitation.
 */
function unknownToGo(cp: number): boolean {
  return (
    cp === 0x1c89 ||
    (cp >= 0xa7cb &&
      cp <= 0xa7dc &&
      [0xa7cb, 0xa7cc, 0xa7ce, 0xa7d2, 0xa7d4, 0xa7da, 0xa7dc].includes(cp)) ||
    (cp >= 0x10d50 && cp <= 0x10d65) ||
    (cp >= 0x16ea0 && cp <= 0x16eb8)
  );
}

/**
 * Pure: Go's strings.ToLower: each code point by its simple lower-case mapping
 * (unicode.ToLower), so one code point stays one; a lone surrogate (not UTF-8) becomes U+FFFD,
 * as Go's strings.Map writes an invalid byte.
 */
export function goToLower(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\u0000-\u007f]*$/.test(text)) return text.toLowerCase();
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x130) out += 'i';
    else if (cp === 0x3a3) out += 'σ';
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd';
    else if (unknownToGo(cp)) out += ch;
    else out += ch.toLowerCase();
  }
  return out;
}
