/**
 * `verify-token`: is this a session muvee would accept? HS256 with JWT_SECRET, `exp`
 * required, muvee's claims; and is its user in the local database with the same role?
 */
import { existsSync } from 'node:fs';
import { commandConfig, defineCommand, option, readAll, type Context } from '../command.js';
import { jwtSecretWhitespace, requireJwtSecret } from '../config.js';
import { CliError } from '../errors.js';
import { humanDuration, humanTime } from '../output.js';
import { extractToken, nowSeconds, verifySessionToken } from '../session.js';

export const command = defineCommand({
  name: 'verify-token',
  summary: "check a muvee session token (HS256 with JWT_SECRET, muvee's claims)",
  arguments: [
    {
      name: '[token]',
      description: "the JWT, 'muvee_session=<jwt>', a Cookie header value, or '-' to read stdin",
      defaultValue: '-',
    },
  ],
  options: {
    leeway: option.seconds('--leeway <seconds>', 'tolerate this much clock skew for exp/nbf', 0),
  },
  examples: [
    'muvee-dingtalk verify-token - < token.txt      # from stdin: keeps the token out of shell history',
    "muvee-dingtalk verify-token 'muvee_session=eyJ...; theme=dark'",
    'muvee-dingtalk verify-token eyJhbGciOiJIUzI1NiIs... --leeway 30 --json',
  ],
  run,
});

async function run(
  context: Context,
  [tokenArg = '-']: string[],
  options: { leeway: number },
): Promise<number> {
  const { out } = context;
  const config = commandConfig(context);
  const secret = requireJwtSecret(config);
  const whitespace = jwtSecretWhitespace(config);
  if (whitespace) out.warn(whitespace);
  let input = tokenArg;
  if (input === '-') {
    const stdin = context.io.stdin();
    if (stdin.isTTY)
      out.note('paste the token (or the Cookie header value), then press Enter and Ctrl-D:');
    input = await readAll(stdin);
  }
  if (input.trim() === '') {
    throw new CliError('usage', "no token given; pass it as an argument, or pipe it in with '-'");
  }
  const token = extractToken(input);
  const result = verifySessionToken(token, secret, { leewaySeconds: options.leeway });

  // The store is opened only when a database file exists; nothing is created here.
  let userInDb: boolean | null = null;
  let roleInDb: string | null = null;
  const uid = result.claims?.uid;
  if (typeof uid === 'string' && existsSync(config.dbFile)) {
    const { Store } = await import('../store.js');
    const store = Store.openExisting(config.dbFile);
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
      muveeAccepts: result.muveeAccepts,
      ...(result.muveeNote ? { muveeNote: result.muveeNote } : {}),
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
  if (result.muveeNote) out.line(`  ${c.yellow('⚠')} ${result.muveeNote}`);
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
