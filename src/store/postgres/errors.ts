/**
 * PostgreSQL's errors in the user's words: each failure of muvee's database becomes a CliError,
 * `db-unusable` (exit 2) for what the user must fix (the URL, the password, the server's address,
 * sslmode, a database that is not muvee's), `db-error` (exit 1) otherwise. No message holds the
 * password.
 */
import { CliError, isCliError } from '../../cli/errors.js';
import { pgTarget, redactUrl, scrubSecrets } from '../../config/db-target.js';

export type Phase = 'connect' | 'read' | 'write';

export const where = (url: string) => `muvee's PostgreSQL ${redactUrl(url)}`;

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A connection that failed below SQL (socket, TLS, protocol) is not returned to the pool. */
export function brokenConnection(error: unknown): boolean {
  const code = sqlState(error);
  return code === undefined || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08');
}

const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Any error from pg (or the network below it) as a CliError with a message that says what to
 * do and never holds the password. `db-unusable` (exit 2): the URL, credentials, address,
 * sslmode, permissions or schema must change. `db-error` (exit 1): the database failed or a
 * concurrent writer won; trying again may work. A write that fails is rolled back first.
 */
export function pgErrorToCliError(
  error: unknown,
  url: string,
  phase: Phase,
  extra: { attempts?: number } = {},
): CliError {
  if (isCliError(error)) return error;
  const target = pgTarget(url);
  const at = where(url);
  const code = sqlState(error) ?? '';
  const raw = error instanceof Error ? error.message : String(error);
  const message = scrubSecrets(raw, url);
  const nothing = phase === 'write' ? '; nothing was written' : '';
  const details = { db: redactUrl(url), ...(code ? { code } : {}) };
  const make = (kind: 'db-unusable' | 'db-error', text: string) => {
    const cause = new Error(message);
    (cause as Error & { code?: string }).code = code || undefined;
    return new CliError(kind, text, { cause, details });
  };
  const user = target.user ? `'${target.user}'` : '(the default user)';

  switch (code) {
    case '28P01':
      return make(
        'db-unusable',
        `${at}: password authentication failed for user ${user}; check the password in the URL`,
      );
    case '28000':
      return make(
        'db-unusable',
        `${at}: the server refused the connection (${message}); check the user, the database and sslmode against the server's pg_hba.conf`,
      );
    case '3D000':
      return make(
        'db-unusable',
        `${at}: database '${target.database ?? target.user ?? ''}' does not exist; check the URL's path`,
      );
    case '42501':
      return make(
        'db-unusable',
        `${at}: role ${user} may not ${phase === 'write' ? 'write to' : 'read'} muvee's tables (${message})${nothing}; use a role that may SELECT, INSERT and UPDATE users, platform_members, invitations and system_settings`,
      );
    case '25006':
      return make('db-unusable', `${at}: the server is read-only (${message})${nothing}`);
    case '40001':
    case '40P01':
      return make(
        'db-error',
        `${at}: a concurrent writer kept conflicting with this ${phase} (${code === '40001' ? 'serialization failure' : 'deadlock'}, ${extra.attempts ?? 1} attempt${(extra.attempts ?? 1) > 1 ? 's' : ''})${nothing}; try again`,
      );
    case '55P03':
      return make(
        'db-error',
        `${at}: waited too long for a row another session holds locked (muvee, or another run)${nothing}; try again`,
      );
    case '57014':
      return make('db-error', `${at}: a statement took too long and was cancelled${nothing}`);
    case '53300':
      return make('db-error', `${at}: the server has no connection slot free; try again later`);
    case '57P01':
    case '57P02':
    case '57P03':
      return make('db-error', `${at}: the server is shutting down or starting up (${message})`);
    case 'ECONNREFUSED':
      return make(
        'db-unusable',
        `${at}: nothing accepts connections at ${target.host}:${target.port} (connection refused); is PostgreSQL running there, and are the host and port right?`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make('db-unusable', `${at}: host '${target.host}' not found; check the URL's host`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make(
        'db-unusable',
        `${at}: ${target.host}:${target.port} is unreachable (${code}); check the host, port and firewall`,
      );
    case 'ENOENT':
      return make(
        'db-unusable',
        `${at}: a file the URL names cannot be read (${message}); check sslrootcert, sslcert and sslkey`,
      );
  }
  if (TLS_VERIFY_CODES.has(code)) {
    return make(
      'db-unusable',
      `${at}: the server's TLS certificate is not trusted (${code}) under sslmode=${target.sslmode ?? '(none)'}; give sslrootcert=<CA file>, or use sslmode=require to encrypt without verifying (as muvee's driver does with require)`,
    );
  }
  if (/does not support SSL/i.test(raw)) {
    return make(
      'db-unusable',
      `${at}: the server does not support TLS but sslmode=${target.sslmode ?? 'require'} asks for it; use sslmode=disable or turn on ssl in the server`,
    );
  }
  if (/timeout expired|timeout exceeded|connection timeout/i.test(raw)) {
    return make(
      'db-unusable',
      `${at}: no answer from ${target.host}:${target.port} within the connection timeout; is the server reachable and is the port PostgreSQL's?`,
    );
  }
  if (/client password must be a string|password must be a string/i.test(raw)) {
    return make(
      'db-unusable',
      `${at}: the server asks for a password and the URL gives none (postgres://user:password@host/db)`,
    );
  }
  if (/SECURITY WARNING: Using sslmode=verify-ca requires/i.test(raw)) {
    return make('db-unusable', `${at}: sslmode=verify-ca needs sslrootcert=<CA file> in the URL`);
  }
  if (/Connection terminated|ECONNRESET|socket hang up/i.test(raw) || code === 'ECONNRESET') {
    return make(
      'db-error',
      `${at}: the server closed the connection (${message})${phase === 'write' ? "; the write was not confirmed: check with 'users show' whether it happened" : ''}`,
    );
  }
  if (code.startsWith('08')) {
    return make('db-unusable', `${at}: cannot connect (${message})`);
  }
  return make('db-error', `${at} failed${code ? ` (${code})` : ''}: ${message}${nothing}`);
}
