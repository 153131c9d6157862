/**
 * How muvee's own server reads a session token (golang-jwt v5 with no options, then its
 * middleware), reimplemented so `verify-token` can say where it is stricter than muvee
 * ("muvee itself would accept this token because …") and is never looser.
 *
 * @see ../../shared/muvee-server.md §4
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { goUuid } from './shapes.js';

const HMAC: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
/** Go's int64 seconds: a NumericDate at or past 2^63 wraps into the far past. */
const INT64_LIMIT = 2 ** 63;

export interface MuveeVerdict {
  accepts: boolean;
  /** Why muvee rejects, or what muvee reads (uid, the time claims it checked). */
  reason: string;
  /** The claims as Go decodes them: keys matched case-insensitively, the last one winning. */
  claims?: Record<string, unknown>;
}

/** Go's base64.RawURLEncoding: no padding, URL alphabet only. */
function rawUrl(segment: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(segment) ? Buffer.from(segment, 'base64url') : undefined;
}

function jsonObject(bytes: Buffer | undefined): Record<string, unknown> | undefined {
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Pure: the claims as a Go struct receives them: `UID`, `Uid` and `uid` all fill `uid`, and of
 * several the one that comes last in the JSON wins.
 */
export function goClaims(payload: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload)) claims[key.toLowerCase()] = value;
  return claims;
}

/** Go's NumericDate: a JSON number or a numeric string, in seconds; undefined = not a date. */
function numericDate(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

/**
 * Pure: would muvee's server accept this token as a session (before it looks the user up)?
 * `secret` is JWT_SECRET's raw bytes, as muvee uses them.
 */
export function muveeVerdict(token: string, secret: string, now: number): MuveeVerdict {
  const parts = token.split('.');
  if (parts.length !== 3) return { accepts: false, reason: 'not three segments' };
  return muveeVerdictOf(
    parts,
    jsonObject(rawUrl(parts[0] ?? '')),
    jsonObject(rawUrl(parts[1] ?? '')),
    secret,
    now,
  );
}

/**
 * Pure: {@link muveeVerdict} of a token already split into its three segments and decoded as
 * Go decodes them (base64url without padding, then a JSON object; anything else null), so a
 * caller that has done that (session.ts) does not do it twice. `hs256Verified`: the caller has
 * already verified the HS256 signature against `secret` (jsonwebtoken compares the canonical
 * base64url text, so the same bytes verify here too) and muvee's HMAC is not computed again.
 */
export function muveeVerdictOf(
  parts: readonly string[],
  header: Record<string, unknown> | null | undefined,
  payload: Record<string, unknown> | null | undefined,
  secret: string,
  now: number,
  hs256Verified = false,
): MuveeVerdict {
  if (!header || !payload) return { accepts: false, reason: 'header or payload is not JSON' };
  const hash = typeof header.alg === 'string' ? HMAC[header.alg] : undefined;
  if (!hash) return { accepts: false, reason: `alg ${JSON.stringify(header.alg)} is not HMAC` };
  if (!(hs256Verified && header.alg === 'HS256')) {
    const [h = '', p = '', s = ''] = parts;
    const signature = rawUrl(s);
    const expected = createHmac(hash, Buffer.from(secret, 'utf8')).update(`${h}.${p}`).digest();
    if (!signature || signature.length !== expected.length || !timingSafeEqual(signature, expected))
      return { accepts: false, reason: 'signature does not match' };
  }
  const claims = goClaims(payload);
  for (const key of ['iss', 'sub']) {
    if (key in claims && typeof claims[key] !== 'string')
      return { accepts: false, reason: `${key} is not a string` };
  }
  const dates: Record<string, number> = {};
  for (const key of ['exp', 'nbf', 'iat']) {
    if (!(key in claims) || claims[key] === null) continue;
    const date = numericDate(claims[key]);
    if (date === undefined || !Number.isFinite(date))
      return { accepts: false, reason: `${key} is not a date` };
    dates[key] = date;
  }
  if (dates.exp !== undefined && (dates.exp >= INT64_LIMIT || now >= Math.trunc(dates.exp)))
    return { accepts: false, reason: 'expired' };
  if (dates.nbf !== undefined && now < Math.trunc(dates.nbf))
    return { accepts: false, reason: 'not valid yet' };
  const uid = goUuid(claims.uid);
  if (!uid) return { accepts: false, reason: 'uid is not a UUID' };
  return { accepts: true, reason: `uid ${uid}`, claims };
}
