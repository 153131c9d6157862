/**
 * Database URLs (`--db`, `DATABASE_URL`): which store a `--db` value means, and how to show a
 * PostgreSQL URL without its password. Pure; loads nothing (in particular not `pg`).
 *
 * The password never appears in output or in an error message: every message about a
 * PostgreSQL URL shows `redactUrl(url)`, and `scrubSecrets` removes the password from text
 * that came from elsewhere (a driver's message) as a second line of defence.
 *
 * A password on the command line (`--db postgres://user:password@…`) is readable by every
 * local user in the process list: `--db env:DATABASE_URL` names a variable instead, and a
 * password on argv is warned about ({@link argvPasswordWarning}).
 */
import { CliError } from '../cli/errors.js';

/** `postgres://…` or `postgresql://…` (any case): muvee's own PostgreSQL, not a SQLite path. */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(text.trim());
}

const SCHEME = /^([a-z][a-z0-9+.-]*:\/\/)/i;
/** `password=` in the query (pg and libpq accept it there too). */
const QUERY_PASSWORD = /([?&]password=)[^&#]*/gi;

/**
 * The URL with its password (user-info or `?password=`) replaced by `***`; the rest as given.
 * A URL that does not parse is redacted conservatively: everything from the first `:` after
 * the user name to the last `@` is hidden.
 */
export function redactUrl(url: string): string {
  const scheme = SCHEME.exec(url);
  if (!scheme) return url.replace(QUERY_PASSWORD, '$1***');
  const rest = url.slice(scheme[1]!.length);
  // The authority ends at the first '/', '?' or '#' after the last '@' (WHATWG: a password may
  // hold '@'); without an '@' there is no password in it.
  const at = lastAtInAuthority(rest);
  let redacted = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) redacted = `${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return scheme[1] + redacted.replace(QUERY_PASSWORD, '$1***');
}

/** Index of the '@' that ends the user-info, or -1. */
function lastAtInAuthority(rest: string): number {
  let at = -1;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i];
    if (ch === '@') at = i;
    else if ((ch === '/' || ch === '?' || ch === '#') && at >= 0) break;
    else if ((ch === '?' || ch === '#') && at < 0) {
      // No '@' before the query: the user-info (if any) is absent, unless the password itself
      // holds an unencoded '?' or '#'; look ahead for an '@' before the next '/'.
      const nextAt = rest.indexOf('@', i);
      const nextSlash = rest.indexOf('/', i);
      if (nextAt < 0 || (nextSlash >= 0 && nextSlash < nextAt)) break;
    }
  }
  return at;
}

/** The password in the URL (user-info or `?password=`), decoded, or undefined. */
export function passwordOf(url: string): string | undefined {
  const found: string[] = [];
  try {
    const parsed = new URL(url);
    if (parsed.password) found.push(safeDecode(parsed.password));
    const query = parsed.searchParams.get('password');
    if (query) found.push(query);
  } catch {
    const scheme = SCHEME.exec(url);
    if (scheme) {
      const rest = url.slice(scheme[1]!.length);
      const at = lastAtInAuthority(rest);
      const colon = at >= 0 ? rest.slice(0, at).indexOf(':') : -1;
      if (colon >= 0) found.push(safeDecode(rest.slice(colon + 1, at)));
    }
  }
  return found.find((p) => p.length > 0);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * `text` with every occurrence of the URL's password (as written and decoded) replaced by
 * `***`, and any copy of the URL redacted.
 */
export function scrubSecrets(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  const secrets = new Set<string>();
  const password = passwordOf(url);
  if (password) {
    secrets.add(password);
    secrets.add(encodeURIComponent(password));
  }
  const scheme = SCHEME.exec(url);
  if (scheme) {
    const rest = url.slice(scheme[1]!.length);
    const at = lastAtInAuthority(rest);
    const colon = at >= 0 ? rest.slice(0, at).indexOf(':') : -1;
    if (colon >= 0) secrets.add(rest.slice(colon + 1, at));
  }
  // Longest first, so a password that contains another form of itself goes whole.
  for (const secret of [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length))
    out = out.split(secret).join('***');
  return out;
}

/** Where a PostgreSQL URL points, for messages: `user@host:port/database` (no password). */
export interface PgTarget {
  user: string | undefined;
  host: string;
  port: number;
  database: string | undefined;
  /** The `sslmode` parameter as written, if any. */
  sslmode: string | undefined;
}

/** Pure: the parts of a PostgreSQL URL (defaults as pg applies them: localhost, 5432). */
export function pgTarget(url: string): PgTarget {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return { user: undefined, host: '?', port: 5432, database: undefined, sslmode: undefined };
  }
  const param = (name: string) => parsed.searchParams.get(name) ?? undefined;
  const path = safeDecode(parsed.pathname.replace(/^\//, ''));
  return {
    user: param('user') ?? (parsed.username ? safeDecode(parsed.username) : undefined),
    host: param('host') ?? (parsed.hostname.replace(/^\[(.+)\]$/, '$1') || 'localhost'),
    port: Number(param('port') ?? parsed.port) || 5432,
    database: path || undefined,
    sslmode: param('sslmode'),
  };
}

/** `user@host:port/database`, for messages. */
export function describePgTarget(target: PgTarget): string {
  return `${target.user ? `${target.user}@` : ''}${target.host}:${target.port}/${target.database ?? ''}`;
}

/** The sslmode values libpq (and so muvee's Go driver) understands. */
export const SSL_MODES = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
] as const;

/**
 * The connection string handed to `pg`. `sslmode` keeps libpq's meaning, as muvee's own Go
 * driver reads the same `DATABASE_URL`: `require` encrypts without verifying the server's
 * certificate, `verify-ca` checks it against `sslrootcert`, `verify-full` also checks the host
 * name. (`pg` 8 alone treats `prefer`/`require`/`verify-ca` as `verify-full`, so a URL that
 * muvee accepts would fail here; `uselibpqcompat=true` selects libpq's meaning.) `prefer` and
 * `allow` encrypt without verifying and, unlike libpq, do not fall back to plain text.
 * Without `sslmode` the connection is not encrypted (pg's default).
 */
export function pgConnectionString(url: string): string {
  const trimmed = url.trim();
  assertParsablePgUrl(trimmed);
  const target = pgTarget(trimmed);
  if (target.sslmode === undefined || /[?&]uselibpqcompat=/i.test(trimmed)) return trimmed;
  const hashAt = trimmed.indexOf('#');
  let base = hashAt >= 0 ? trimmed.slice(0, hashAt) : trimmed;
  // pg has no `allow` (plain text first, TLS if the server insists): as `prefer`, TLS.
  if (target.sslmode === 'allow') base = base.replace(/([?&]sslmode=)allow/i, '$1prefer');
  return `${base}&uselibpqcompat=true`;
}

/**
 * Pure: throws the `db-unusable` error (exit 2: the URL must change) when `pg` could not read
 * the URL (pg-connection-string's own rules: spaces and stray `%` encoded, an empty host
 * allowed), instead of the driver's "Invalid URL" as an unexpected failure.
 */
export function assertParsablePgUrl(url: string): void {
  let text = url;
  if (/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(text))
    text = encodeURI(text).replace(/%25(\d\d)/g, '%$1');
  let parsed: URL | undefined;
  for (const candidate of [text, text.replace('@/', '@___DUMMY___/')]) {
    try {
      parsed = new URL(candidate, 'postgres://base');
      break;
    } catch {
      // the next form, as pg tries it
    }
  }
  let why = parsed ? undefined : 'it does not parse as a URL';
  if (parsed) {
    try {
      decodeURIComponent(parsed.username);
      decodeURIComponent(parsed.password);
    } catch {
      why = 'its user or password holds a % that is not percent-encoding';
    }
  }
  if (why) {
    throw new CliError(
      'db-unusable',
      `'${redactUrl(url)}' is not a valid PostgreSQL URL (${why}); write it as postgres://user:password@host:5432/database, percent-encoding any of : / @ ? # % in the user or password`,
    );
  }
}

/** `--db env:NAME`: the database URL (or path) is read from the variable NAME. */
export const DB_FROM_ENV = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Pure: the warning for a `--db` flag whose value holds a password (undefined otherwise): the
 * process list shows every argument to every local user.
 */
export function argvPasswordWarning(flag: string | undefined): string | undefined {
  if (flag === undefined || !isPostgresUrl(flag) || passwordOf(flag) === undefined)
    return undefined;
  return `--db ${redactUrl(flag)} puts the database password on the command line, where every local user can read it (ps); use --db env:DATABASE_URL, or set DATABASE_URL or MUVEE_DINGTALK_DB in the environment or the env file`;
}
