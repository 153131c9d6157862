/**
 * How muvee's DingTalk provider (internal/auth/dingtalk.go) reads DingTalk's two answers, pure:
 * `json.Unmarshal` of the whole body into a struct of string fields, with nothing else checked
 * (no HTTP status, no content type). So, as Go's encoding/json does:
 *
 * - the body must be one JSON value (trailing text, a byte order mark, an empty body fail);
 * - keys match the fields case-insensitively (`Email`, `EMAIL`, `AccessToken`; `ſ` as s, `K` as
 *   k), the last one wins, `null` leaves a field as it was;
 * - a field that is not a string (a number, an object, `true`) fails the whole decode: muvee
 *   fails the login;
 * - top-level `null` is an empty struct; any other non-object fails;
 * - strings are unquoted as Go does (a lone surrogate escape becomes U+FFFD).
 *
 * The profile's fields: unionId, nick, avatarUrl, email, mobile; the user token's: accessToken,
 * code, message. Everything else in the body is ignored, whatever its type.
 *
 * @see ../../../shared/muvee-server.md §1
 */
import { goKindName, parseGoJson } from './go-json.js';

export const PROFILE_FIELDS = ['unionId', 'nick', 'avatarUrl', 'email', 'mobile'] as const;
export const USER_TOKEN_FIELDS = ['accessToken', 'code', 'message'] as const;

export type GoStruct<F extends string> =
  { ok: true; values: Record<F, string> } | { ok: false; error: string };

/** encoding/json's key folding, for ASCII field names: ASCII case, ſ (U+017F) and K (U+212A). */
function fold(key: string): string | undefined {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x80) out += key[i]!.toLowerCase();
    else if (c === 0x17f) out += 's';
    else if (c === 0x212a) out += 'k';
    else return undefined; // no other code point folds into ASCII
  }
  return out;
}

/** Pure: `json.Unmarshal(body, &struct{ F string `json:"f"` … })`, with Go's error text. */
export function goUnmarshalStrings<F extends string>(
  body: Uint8Array,
  fields: readonly F[],
): GoStruct<F> {
  const parsed = parseGoJson(body);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  const values = Object.fromEntries(fields.map((f) => [f, ''])) as Record<F, string>;
  const root = parsed.value;
  if (root.kind === 'null') return { ok: true, values };
  if (root.kind !== 'object')
    return {
      ok: false,
      error: `json: cannot unmarshal ${goKindName(root)} into Go value of type struct`,
    };
  const byFold = new Map(fields.map((f) => [fold(f)!, f]));
  let error: string | undefined;
  for (const [key, value] of root.entries) {
    const field = (fields as readonly string[]).includes(key)
      ? (key as F)
      : byFold.get(fold(key) ?? '\u0000');
    if (field === undefined || value.kind === 'null') continue;
    if (value.kind === 'string') values[field] = value.value;
    else
      error ??= `json: cannot unmarshal ${goKindName(value)} into Go struct field .${field} of type string`;
  }
  return error === undefined ? { ok: true, values } : { ok: false, error };
}

/** Pure: what muvee reads from the profile answer (`parse user_info: …` when it fails). */
export function muveeReadsProfile(body: Uint8Array) {
  return goUnmarshalStrings(body, PROFILE_FIELDS);
}

/** Pure: what muvee reads from the user-token answer (`parse token response: …` when it fails). */
export function muveeReadsUserToken(body: Uint8Array) {
  return goUnmarshalStrings(body, USER_TOKEN_FIELDS);
}

/**
 * Pure: the email muvee signs a profile in as: `email` exactly as decoded, else
 * `unionId + "@dingtalk.local"` (`@dingtalk.local` alone when both are empty).
 */
export function muveeEmail(values: Record<'email' | 'unionId', string>): string {
  return values.email !== '' ? values.email : `${values.unionId}@dingtalk.local`;
}
