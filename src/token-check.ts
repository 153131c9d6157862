/**
 * `verify-token`'s work, apart from its declaration (commands/verify-token.ts) so the bin can
 * run it without commander (runtime/fast-verify-token.ts): one token, printed for humans or as
 * one JSON document, or `--each`: a token per line of stdin, one JSON line per token.
 *
 * Loads only what verification needs: the configuration, session.ts (jsonwebtoken) and, when
 * a database file exists, the store for a lookup by id.
 */
import { existsSync } from 'node:fs';
import type { Context } from './command.js';
import {
  assertEnvFileWellFormed,
  jwtSecretWhitespace,
  loadConfig,
  requireJwtSecret,
  type Config,
} from './config.js';
import { CliError } from './errors.js';
import { humanDuration, humanTime } from './output.js';
import { safe } from './sanitize.js';
import { extractToken, nowSeconds, verifySessionToken, type VerifyResult } from './session.js';
import type { StoredUser } from './store.js';

export interface VerifyTokenOptions {
  leeway: number;
  each?: boolean | undefined;
}

/** The whole command: `[token]` is the token, a cookie, or '-' for stdin. Exit 0 valid, 5 not. */
export async function verifyToken(
  context: Context,
  tokenArg: string,
  options: VerifyTokenOptions,
): Promise<number> {
  const { out } = context;
  // As commandConfig (command.ts) does; that module loads commander, which this path avoids.
  const config = loadConfig({
    flags: { envFile: context.globals.envFile, db: context.globals.db },
    env: context.io.env,
    cwd: context.io.cwd,
  });
  assertEnvFileWellFormed(config);
  const secret = requireJwtSecret(config);
  const whitespace = jwtSecretWhitespace(config);
  if (whitespace) out.warn(whitespace);
  if (options.each) return verifyEach(context, config, secret, tokenArg, options.leeway);

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
  let user: StoredUser | undefined | null = null;
  const uid = result.claims?.uid;
  if (typeof uid === 'string') {
    const lookup = await userLookup(config);
    if (lookup) {
      try {
        user = lookup.find(uid);
      } finally {
        lookup.close();
      }
    }
  }
  const userInDb = user === null ? null : user !== undefined;
  const roleInDb = user?.role ?? null;

  if (out.json) {
    out.document(jsonResult(result, user));
    return result.valid ? 0 : 5;
  }

  // The token's header and claims are anyone's text: sanitised for the terminal.
  const { c } = out;
  out.line(
    result.valid
      ? `${c.green('✓')} valid muvee session token`
      : `${c.red('✗')} rejected (${result.reason}): ${safe(result.message)}`,
  );
  if (result.muveeNote) out.line(`  ${c.yellow('⚠')} ${safe(result.muveeNote)}`);
  const rows: [string, string][] = [];
  if (result.header) rows.push(['header', safe(JSON.stringify(result.header))]);
  if (result.claims) {
    const { uid: u, email, role, iat, exp, ...rest } = result.claims;
    const now = nowSeconds();
    rows.push(['uid', safe(u ?? '—')], ['email', safe(email ?? '—')], ['role', safe(role ?? '—')]);
    if (typeof iat === 'number')
      rows.push(['issued', `${humanTime(iat)} (${humanDuration(now - iat)} ago)`]);
    if (typeof exp === 'number') {
      rows.push([
        'expires',
        `${humanTime(exp)} (${exp >= now ? `expires in ${humanDuration(exp - now)}` : `expired ${humanDuration(now - exp)} ago`})`,
      ]);
    }
    if (Object.keys(rest).length > 0) rows.push(['other claims', safe(JSON.stringify(rest))]);
  }
  rows.push([
    'local user',
    userInDb === null
      ? `not checked (no database at ${config.dbPath})`
      : userInDb
        ? roleInDb === result.claims?.role
          ? `yes, role ${roleInDb} matches`
          : c.yellow(
              `yes, but the stored role is ${roleInDb}, the token says ${safe(result.claims?.role)}`,
            )
        : c.yellow(`no user with this uid in ${config.dbPath}`),
  ]);
  out.table(rows);
  return result.valid ? 0 : 5;
}

/**
 * The JSON verdict on one token. `user`: null when there is no database file (nothing was
 * checked), undefined when the database has no user with the token's uid.
 */
function jsonResult(
  result: VerifyResult,
  user: StoredUser | undefined | null,
): Record<string, unknown> {
  return {
    valid: result.valid,
    ...(result.reason ? { reason: result.reason } : {}),
    message: result.message,
    header: result.header,
    claims: result.claims,
    expiresAt: result.expiresAt,
    muveeAccepts: result.muveeAccepts,
    ...(result.muveeNote ? { muveeNote: result.muveeNote } : {}),
    userInDb: user === null ? null : user !== undefined,
    ...(user ? { roleInDb: user.role, roleMatches: user.role === result.claims?.role } : {}),
  };
}

/** A lookup of users by id in the configured database, or undefined when it has no file. */
async function userLookup(
  config: Config,
): Promise<{ find: (id: string) => StoredUser | undefined; close: () => void } | undefined> {
  if (!existsSync(config.dbFile)) return undefined;
  const { Store } = await import('./store.js');
  const store = Store.openExisting(config.dbFile);
  if (!store) return undefined;
  try {
    return { find: store.userFinder(), close: () => store.close() };
  } catch (error) {
    store.close();
    throw error;
  }
}

/** Output is written in chunks of about this many characters, not a write per line. */
const CHUNK = 64 * 1024;

/**
 * `--each`: every non-empty line of stdin is a token (or cookie); one JSON line per token on
 * stdout, `{"line": n, ...the --json verdict}`, in input order; a count on stderr. Exit 0 when
 * every token is valid, 5 when any is not; no token at all is a usage error.
 */
async function verifyEach(
  context: Context,
  config: Config,
  secret: string,
  tokenArg: string,
  leewaySeconds: number,
): Promise<number> {
  const { out, io } = context;
  if (tokenArg !== '-') {
    throw new CliError(
      'usage',
      "--each reads tokens from stdin, one per line: pass '-' (verify-token --each - < tokens.txt)",
    );
  }
  const stdin = io.stdin();
  if (stdin.isTTY) out.note('paste tokens, one per line, then press Ctrl-D:');
  const lookup = await userLookup(config);
  let lineNumber = 0;
  let count = 0;
  let valid = 0;
  let pending = '';
  let buffered = '';
  const verifyLine = (line: string) => {
    lineNumber++;
    const text = line.trim();
    if (text === '') return;
    count++;
    let result: VerifyResult;
    try {
      result = verifySessionToken(extractToken(text), secret, { leewaySeconds });
    } catch (error) {
      // extractToken: a line with '=' but no muvee_session cookie.
      result = {
        valid: false,
        reason: 'malformed',
        message: error instanceof Error ? error.message : String(error),
        header: null,
        claims: null,
        expiresAt: null,
        muveeAccepts: false,
      };
    }
    if (result.valid) valid++;
    const uid = result.claims?.uid;
    const user = lookup && typeof uid === 'string' ? lookup.find(uid) : null;
    buffered += `${JSON.stringify({ line: lineNumber, ...jsonResult(result, user) })}\n`;
    if (buffered.length >= CHUNK) {
      io.stdout.write(buffered);
      buffered = '';
    }
  };
  try {
    const { StringDecoder } = await import('node:string_decoder');
    const decoder = new StringDecoder('utf8');
    for await (const chunk of stdin) {
      const text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        verifyLine(text.slice(start, end));
        start = end + 1;
      }
      pending = text.slice(start);
    }
    pending += decoder.end();
    if (pending !== '') verifyLine(pending);
  } finally {
    if (buffered !== '') io.stdout.write(buffered);
    lookup?.close();
  }
  if (count === 0) {
    throw new CliError('usage', 'no tokens on stdin; pipe them in, one per line');
  }
  out.note(`${count} token${count === 1 ? '' : 's'}: ${valid} valid, ${count - valid} rejected`);
  return valid === count ? 0 : 5;
}

/** All of stdin as text (as command.ts's readAll; that module loads commander). */
async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer | string));
  return Buffer.concat(chunks).toString('utf8');
}
