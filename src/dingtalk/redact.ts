/**
 * Secrets out of everything DingTalk (or whatever answers in its place) sends back: an echoing
 * proxy can put the app secret, the code or a token into an error `code`, a `message`, a
 * `requestid`, a profile field or an HTML page, and a broken gateway can send the tokens in a
 * body that is not clean JSON (a byte-order mark, cut short, trailing bytes, other key names).
 *
 * Three rules, applied to every text of an answer before it is shown anywhere (stderr, the
 * `--json` document and its `details`, the browser's page, `--verbose`):
 * - every **known** secret (the app secret, the code, and every token the client has sent or
 *   seen) is cut out wherever it appears;
 * - the value of any **credential-named** field (`accessToken`, `access_token`, `token`,
 *   `clientSecret`, …, at any depth, also in text that is not JSON) is a secret: it is
 *   learned ({@link harvestSecrets}) and so cut out everywhere;
 * - anything **shaped like a token** (32+ hex characters, as DingTalk's and the emulator's
 *   tokens are, or a JWT) is cut out of DingTalk's own text.
 *
 * Pure.
 */

/** A field whose value is a credential, by name: any case, with or without `_`/`-`. */
export function isCredentialKey(key: string): boolean {
  return /token|secret|password|passwd|ticket|credential|authcode|apikey|^sign(ature)?$/.test(
    key.toLowerCase().replace(/[^a-z0-9]/g, ''),
  );
}

/** What a redacted value becomes (its length only). */
export const redacted = (value: string) => `<redacted: ${value.length} chars>`;

/**
 * Token shapes: 24 or more hex digits in a row (DingTalk's tokens and codes are 32), or a JWT
 * (`eyJ…`). A request id (`4F9A6B9E-5DD1-…`) and an error code are not.
 */
const TOKEN_SHAPE =
  /(?<![0-9a-z])[0-9a-f]{24,}(?![0-9a-z])|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/gi;

/**
 * `field: value` / `field=value` pairs in text that may not be JSON (cut short, a form, a
 * page): the field name, the separator, then the value up to a quote, `&`, space or bracket.
 */
const CREDENTIAL_PAIR = /(["']?)([A-Za-z][\w.-]{0,63})\1(\s*[:=]\s*)(["']?)([^"'&\s,;}<>\]]{4,})/g;

/**
 * Pure: every credential value in an answer, whatever its shape: the string values of
 * credential-named fields at any depth of the JSON (a byte-order mark or surrounding bytes
 * tolerated), and `name: value` / `name=value` pairs of credential names anywhere in the text.
 */
export function harvestSecrets(text: string): string[] {
  const found = new Set<string>();
  const visit = (value: unknown, credential: boolean): void => {
    if (typeof value === 'string') {
      if (credential && value.length >= 4) found.add(value);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item, credential);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, field] of Object.entries(value))
        visit(field, credential || isCredentialKey(key));
    }
  };
  for (const candidate of jsonCandidates(text)) visit(candidate, false);
  for (const match of text.matchAll(CREDENTIAL_PAIR)) {
    if (isCredentialKey(match[2]!)) found.add(match[5]!);
  }
  return [...found];
}

/** The JSON documents in a text: the whole of it, else each `{…}` that parses. */
function jsonCandidates(text: string): unknown[] {
  const trimmed = text.replace(/^\ufeff/, '').trim();
  try {
    return [JSON.parse(trimmed)];
  } catch {
    // Cut short, doubled or wrapped: try from each '{' to each '}' (bounded: answers are ≤ 1 MiB,
    // and only the first few openings are tried).
    const out: unknown[] = [];
    let tries = 0;
    for (let start = trimmed.indexOf('{'); start >= 0 && tries < 8; tries++) {
      let end = trimmed.lastIndexOf('}');
      while (end > start) {
        try {
          out.push(JSON.parse(trimmed.slice(start, end + 1)));
          break;
        } catch {
          end = trimmed.lastIndexOf('}', end - 1);
        }
      }
      start = trimmed.indexOf('{', start + 1);
    }
    return out;
  }
}

/**
 * Pure: `text` with every known secret and every token-shaped run replaced by
 * `<redacted: n chars>`; the values of credential-named `name: value` pairs too.
 */
export function redactText(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  // Longest first, so a secret that contains another goes whole.
  const known = [...new Set([...secrets].filter((s): s is string => !!s && s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  for (const secret of known) out = out.split(secret).join(redacted(secret));
  out = out.replace(
    CREDENTIAL_PAIR,
    (whole, q: string, key: string, sep: string, vq: string, value: string) =>
      isCredentialKey(key) && !value.startsWith('<redacted')
        ? `${q}${key}${q}${sep}${vq}${redacted(value)}`
        : whole,
  );
  return out.replace(TOKEN_SHAPE, (token) => redacted(token));
}

/**
 * Pure: a JSON value with every known secret cut out of its strings at any depth, and the
 * values of credential-named fields replaced (keys kept). For a profile shown "as DingTalk
 * returned it".
 */
export function redactDeep(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redactKnown(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, secrets));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      isCredentialKey(key) && typeof field === 'string'
        ? redacted(field)
        : redactDeep(field, secrets),
    ]),
  );
}

/** Pure: `text` with every known secret (at least 4 characters) cut out, nothing else. */
export function redactKnown(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  const known = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  for (const secret of known) out = out.split(secret).join(redacted(secret));
  return out;
}
