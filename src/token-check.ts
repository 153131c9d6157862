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
import { jwtSecretWhitespace, requireJwtSecret, runConfig, type Config } from './config.js';
import { CliError, isCliError } from './errors.js';
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
  // runConfig, not command.ts's commandConfig: that module loads commander, which this path avoids.
  const config = runConfig(context.globals, context.io);
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
  let dbProblem: string | undefined;
  const uid = result.claims?.uid;
  if (typeof uid === 'string') {
    // The database is optional here: one that cannot be read is said, not a failure of the
    // verdict (a valid token stays exit 0, a forged one exit 5).
    try {
      const lookup = await userLookup(config);
      if (lookup) {
        try {
          user = await lookup.find(uid);
        } finally {
          await lookup.close();
        }
      }
    } catch (error) {
      if (!isCliError(error)) throw error;
      dbProblem = error.message;
      user = null;
    }
  }
  const userInDb = user === null ? null : user !== undefined;
  const roleInDb = user?.role ?? null;

  if (out.json) {
    out.document({ ...jsonResult(result, user), ...(dbProblem ? { dbProblem } : {}) });
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
  // A token whose signature did not verify says only what its author wrote: shown as such,
  // never in the layout of a valid one.
  const unverified = !result.valid && !SIGNED_REASONS.has(result.reason ?? '');
  const label = (name: string) => (unverified ? `${name} (unverified)` : name);
  if (unverified) out.line(c.dim('  the claims below are NOT verified: anyone can write them'));
  if (result.header) rows.push([label('header'), safe(JSON.stringify(result.header))]);
  if (result.claims) {
    const { uid: u, email, role, iat, exp, ...rest } = result.claims;
    const now = nowSeconds();
    rows.push(
      [label('uid'), safe(u ?? '—')],
      [label('email'), safe(email ?? '—')],
      [label('role'), safe(role ?? '—')],
    );
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
      ? dbProblem
        ? c.yellow(`not checked: ${safe(dbProblem)}`)
        : `not checked (no database at ${config.dbPath})`
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
  line?: number,
): Record<string, unknown> {
  // One object shape, no spreads (--each makes one per token); JSON leaves out the keys that
  // are undefined, as the optional ones are when they do not apply.
  return {
    line,
    valid: result.valid,
    reason: result.reason || undefined,
    message: result.message,
    header: result.header,
    claims: result.claims,
    expiresAt: result.expiresAt,
    muveeAccepts: result.muveeAccepts,
    muveeNote: result.muveeNote || undefined,
    userInDb: user === null ? null : user !== undefined,
    roleInDb: user ? user.role : undefined,
    roleMatches: user ? user.role === result.claims?.role : undefined,
  };
}

/** Reasons that come after a verified signature: the claims are the signer's. */
const SIGNED_REASONS = new Set(['expired', 'not-yet-valid', 'bad-claims']);

/**
 * A lookup of users by id in the configured database (the local file, or muvee's PostgreSQL:
 * then muvee's own user and platform role), or undefined when there is no database file.
 */
async function userLookup(config: Config): Promise<
  | {
      find: (id: string) => StoredUser | undefined | Promise<StoredUser | undefined>;
      close: () => void | Promise<void>;
    }
  | undefined
> {
  if (config.dbIsPostgres) {
    const { openUserStore } = await import('./user-store.js');
    const store = await openUserStore(config.dbFile);
    return {
      find: async (id) => (/^[0-9a-f-]{36}$/i.test(id) ? store.findById(id) : undefined),
      close: () => store.close(),
    };
  }
  if (!existsSync(config.dbFile)) return undefined;
  const { Store } = await import('./store.js');
  const store = Store.openReadOnly(config.dbFile);
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
  // Synchronous for the local store (throughput); a PostgreSQL lookup returns a promise.
  const verifyLine = (line: string): void | Promise<void> => {
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
    const found = lookup && typeof uid === 'string' ? lookup.find(uid) : null;
    const at = lineNumber;
    const emit = (user: StoredUser | undefined | null) => {
      buffered += `${JSON.stringify(jsonResult(result, user, at))}\n`;
      if (buffered.length >= CHUNK) {
        io.stdout.write(buffered);
        buffered = '';
      }
    };
    if (found instanceof Promise) return found.then(emit);
    emit(found);
  };
  try {
    const { StringDecoder } = await import('node:string_decoder');
    const decoder = new StringDecoder('utf8');
    for await (const chunk of stdin) {
      const text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        const wait = verifyLine(text.slice(start, end));
        if (wait) await wait;
        start = end + 1;
      }
      pending = text.slice(start);
    }
    pending += decoder.end();
    if (pending !== '') await verifyLine(pending);
  } finally {
    if (buffered !== '') io.stdout.write(buffered);
    await lookup?.close();
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
