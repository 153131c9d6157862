/**
 * `verify-token`: is this a session muvee would accept? HS256 with JWT_SECRET, `exp`
 * required, muvee's claims; and is its user in the local database with the same role?
 */
import { existsSync } from 'node:fs';
import type { Context } from '../program.js';
import { requireJwtSecret } from '../config.js';
import { CliError } from '../errors.js';
import { humanDuration, humanTime } from '../output.js';
import { extractToken, nowSeconds, verifySessionToken } from '../session.js';
import { commandConfig, readStdin } from './shared.js';

export async function run(
  context: Context,
  [tokenArg]: unknown[],
  options: Record<string, unknown>,
): Promise<number> {
  const { out } = context;
  const config = commandConfig(context);
  const secret = requireJwtSecret(config);
  let input = typeof tokenArg === 'string' ? tokenArg : '-';
  if (input === '-') {
    if (process.stdin.isTTY)
      out.note('paste the token (or the Cookie header value), then press Enter and Ctrl-D:');
    input = await readStdin();
  }
  if (input.trim() === '') {
    throw new CliError('usage', "no token given; pass it as an argument, or pipe it in with '-'");
  }
  const token = extractToken(input);
  const leeway = (options.leeway as number | undefined) ?? 0;
  const result = verifySessionToken(token, secret, { leewaySeconds: leeway });

  // The store is opened only when a database file exists; nothing is created here.
  let userInDb: boolean | null = null;
  let roleInDb: string | null = null;
  const uid = result.claims?.uid;
  if (typeof uid === 'string' && existsSync(config.dbPath)) {
    const { Store } = await import('../store.js');
    const store = Store.openExisting(config.dbPath);
    try {
      const user = store?.findById(uid);
      userInDb = user !== undefined;
      roleInDb = user?.role ?? null;
    } finally {
      store?.close();
    }
  }

  if (out.json) {
    out.document({
      valid: result.valid,
      ...(result.reason ? { reason: result.reason } : {}),
      message: result.message,
      header: result.header,
      claims: result.claims,
      expiresAt: result.expiresAt,
      userInDb,
      ...(userInDb ? { roleInDb, roleMatches: roleInDb === result.claims?.role } : {}),
    });
    return result.valid ? 0 : 5;
  }

  const { c } = out;
  out.line(
    result.valid
      ? `${c.green('✓')} valid muvee session token`
      : `${c.red('✗')} rejected (${result.reason}): ${result.message}`,
  );
  const rows: [string, string][] = [];
  if (result.header) rows.push(['header', JSON.stringify(result.header)]);
  if (result.claims) {
    const { uid: u, email, role, iat, exp, ...rest } = result.claims;
    const now = nowSeconds();
    rows.push(
      ['uid', String(u ?? '—')],
      ['email', String(email ?? '—')],
      ['role', String(role ?? '—')],
    );
    if (typeof iat === 'number')
      rows.push(['issued', `${humanTime(iat)} (${humanDuration(now - iat)} ago)`]);
    if (typeof exp === 'number') {
      rows.push([
        'expires',
        `${humanTime(exp)} (${exp >= now ? `expires in ${humanDuration(exp - now)}` : `expired ${humanDuration(now - exp)} ago`})`,
      ]);
    }
    if (Object.keys(rest).length > 0) rows.push(['other claims', JSON.stringify(rest)]);
  }
  rows.push([
    'local user',
    userInDb === null
      ? `not checked (no database at ${config.dbPath})`
      : userInDb
        ? roleInDb === result.claims?.role
          ? `yes, role ${roleInDb} matches`
          : c.yellow(
              `yes, but the stored role is ${roleInDb}, the token says ${String(result.claims?.role)}`,
            )
        : c.yellow(`no user with this uid in ${config.dbPath}`),
  ]);
  out.table(rows);
  return result.valid ? 0 : 5;
}
