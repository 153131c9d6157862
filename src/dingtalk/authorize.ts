/**
 * The browser half of DingTalk's OAuth2 flow, pure: the authorize URL muvee sends people to,
 * and the judgement of the URL DingTalk sends them back to.
 *
 * @see ../../../shared/dingtalk-api.md §1
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CliError } from '../cli/errors.js';

/** A fresh `state`: 256 random bits, URL-safe. */
export function newState(): string {
  return randomBytes(32).toString('base64url');
}

/** Pure: Go's `url.QueryEscape` (space → `+`; only A–Z a–z 0–9 `-_.~` kept; UTF-8 bytes as %XX). */
export function goQueryEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Pure: Go's `url.Values.Encode()`: keys sorted, `key=value` joined by `&`, both escaped. */
export function goValuesEncode(values: Record<string, string>): string {
  return Object.keys(values)
    .sort()
    .map((key) => `${goQueryEscape(key)}=${goQueryEscape(values[key]!)}`)
    .join('&');
}

/**
 * Exactly the URL muvee sends people to: its parameters encoded by Go's `url.Values.Encode()`
 * (keys sorted, `QueryEscape`d), byte for byte. The endpoint is appended to the login base,
 * so a base with a path (a proxy: `http://gw/proxy/dingtalk`) keeps it, as the API client
 * does with its base.
 */
export function buildAuthorizeUrl(
  config: { loginBase: string; clientId: string; redirectUrl: string },
  state: string,
): string {
  const url = new URL(`${config.loginBase.replace(/\/+$/, '')}/oauth2/auth`);
  const query = goValuesEncode({
    client_id: config.clientId,
    response_type: 'code',
    scope: 'openid',
    prompt: 'consent',
    state,
    redirect_uri: config.redirectUrl,
  });
  return `${url.origin}${url.pathname}?${query}`;
}

export type CallbackResult =
  | {
      kind: 'code';
      code: string;
      /** DingTalk sent both and they differ: muvee exchanges `code` (read first), as here. */
      ignoredAuthCode?: string;
      /** `code` or `authCode` came more than once: muvee takes the first, as here. */
      repeated?: string[];
    }
  | { kind: 'error'; error: string; description: string | undefined };

export type CallbackRejection =
  'missing-state' | 'wrong-state' | 'repeated-parameter' | 'no-code' | 'bad-code';

/** A callback that must not be accepted; the listener answers it with a 400 page. */
export class CallbackError extends CliError {
  readonly reason: CallbackRejection;
  constructor(reason: CallbackRejection, message: string) {
    super('usage', message, { details: { reason } });
    this.reason = reason;
  }
}

/** Constant-time string comparison (hashing first so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Reflected text is shown in a terminal too: no control characters (escape sequences), bounded. */
function printable(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

const CODE_SHAPE = /^[\w.~-]{1,512}$/;

/**
 * Pure: Go's `url.ParseQuery`, as muvee's `r.URL.Query()` reads a callback: pairs split on
 * `&`; a pair holding `;` is dropped, and so is one with a bad `%` escape; `+` is a space;
 * every value of a repeated key kept in order (muvee's `Get` takes the first).
 */
export function goParseQuery(rawQuery: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  const unescape = (text: string): string | undefined => {
    if (/%(?![0-9A-Fa-f]{2})/.test(text)) return undefined;
    const bytes = Buffer.from(
      text
        .replace(/\+/g, ' ')
        .replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    );
    return bytes.toString('utf8');
  };
  for (const pair of rawQuery.replace(/^\?/, '').split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = unescape(eq < 0 ? pair : pair.slice(0, eq));
    const value = unescape(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined) continue;
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
}

/**
 * Judges the URL DingTalk redirected to. Reads the query as Go does (goParseQuery), `code`,
 * else `authCode`, each its first value, as muvee does (DingTalk sends one or both; when both
 * differ muvee exchanges `code`, and so does this), checks `state` in constant time, and
 * reports `error=...` as a result. Throws {@link CallbackError} for anything that must not
 * end the wait (a repeated `state` or `error` among them: muvee reads no `error`, and the
 * state is this listener's own).
 *
 * @param options.stateOptional accept a URL without `state` (a pasted URL); a present state
 *   is still checked.
 */
export function parseCallback(
  url: string | URL,
  expectedState: string,
  options: { stateOptional?: boolean } = {},
): CallbackResult {
  const query = goParseQuery(
    (typeof url === 'string' ? new URL(url, 'http://callback.invalid') : url).search,
  );
  const params = {
    get: (name: string) => query.get(name)?.[0] ?? null,
    getAll: (name: string) => query.get(name) ?? [],
  };
  for (const name of ['state', 'error']) {
    if (params.getAll(name).length > 1) {
      throw new CallbackError(
        'repeated-parameter',
        `the parameter '${name}' appears more than once`,
      );
    }
  }
  const state = params.get('state');
  if (state === null || state === '') {
    if (!options.stateOptional) {
      throw new CallbackError('missing-state', 'the callback has no state parameter');
    }
  } else if (!safeEqual(state, expectedState)) {
    throw new CallbackError(
      'wrong-state',
      'the state parameter does not match this login (an old tab, or a forged request)',
    );
  }

  const error = params.get('error');
  if (error !== null) {
    const description = params.get('error_description');
    return {
      kind: 'error',
      error: printable(error, 200),
      description: description === null ? undefined : printable(description, 500),
    };
  }
  const authCode = params.get('authCode');
  const code = params.get('code');
  const value = code || authCode;
  if (!value) throw new CallbackError('no-code', 'the callback has neither authCode nor code');
  if (!CODE_SHAPE.test(value))
    throw new CallbackError('bad-code', 'the code has unexpected characters');
  const repeated = ['code', 'authCode'].filter((name) => params.getAll(name).length > 1);
  return {
    kind: 'code',
    code: value,
    ...(code && authCode && authCode !== code ? { ignoredAuthCode: printable(authCode, 80) } : {}),
    ...(repeated.length ? { repeated } : {}),
  };
}

/**
 * What the user pasted: the full URL the browser landed on, or the bare code.
 * State is checked when the URL carries one.
 */
export function parsePasted(input: string, expectedState: string): CallbackResult {
  const text = input.trim();
  if (/[?&]/.test(text) || text.includes('://')) {
    let url: URL;
    try {
      url = new URL(text, 'http://callback.invalid');
    } catch {
      throw new CallbackError('no-code', 'that is not a URL; paste the whole address bar');
    }
    return parseCallback(url, expectedState, { stateOptional: true });
  }
  if (!CODE_SHAPE.test(text)) {
    throw new CallbackError('bad-code', 'that is neither a URL nor a code');
  }
  return { kind: 'code', code: text };
}
