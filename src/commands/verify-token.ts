/**
 * `verify-token`: is this a session muvee would accept? HS256 with JWT_SECRET, `exp` required,
 * muvee's claims; and is its user in the configured database with the same role? One token,
 * printed for humans or as one JSON document, `--decode` (unverified), or `--each`: a token per
 * line of stdin, one JSON line per token (long inputs also on worker threads:
 * runtime/token-pool.ts).
 *
 * The bin runs this module without commander (runtime/fast-verify-token.ts): it loads only what
 * verification needs (the configuration, token-verdict.ts: muvee's own reading of a token and node:crypto's HMAC, no jsonwebtoken and, when there is a
 * database, the store for a lookup by id).
 */
import { join } from 'node:path';
import { defineCommand, httpTimeoutOption, option, type Context } from '../cli/command.js';
import { announceDb, jwtSecretWhitespace, requireJwtSecret, runConfig } from '../config/config.js';
import { CliError, isCliError } from '../cli/errors.js';
import { readAll } from '../cli/io.js';
import { humanDuration, humanTime, line, type Safe } from '../cli/output.js';
import { safe } from '../cli/sanitize.js';
import {
  decodeSessionToken,
  extractToken,
  nowSeconds,
  verifySessionToken,
  type VerifyResult,
} from '../muvee/token-verdict.js';
import type { StoredUser } from '../muvee/model.js';
import { userLookup } from '../store/lookup.js';
import { jsonResult, verifyEach } from './verify-token-each.js';

export const command = defineCommand({
  name: 'verify-token',
  summary:
    "check a muvee session token (HS256 with JWT_SECRET, muvee's claims), or --decode it unverified",
  arguments: [
    {
      name: '[token]',
      description: "the JWT, 'muvee_session=<jwt>', a Cookie header value, or '-' to read stdin",
      defaultValue: '-',
    },
  ],
  options: {
    leeway: option.seconds('--leeway <seconds>', 'tolerate this much clock skew for exp/nbf', 0),
    each: option.flag(
      '--each',
      'read many tokens from stdin, one per line; print one JSON line per token; exit 0 only when all are valid',
    ),
    decode: option.flag(
      '--decode',
      'only decode: print the header and claims UNVERIFIED (signature not checked, no JWT_SECRET needed); exit 0 if it decodes, 5 if malformed',
    ),
    muvee: option.string(
      '--muvee <url>',
      'after the local verdict, ask the deployed muvee at <url> (GET /api/me with the token; https, or http on loopback only): exit 0 only when both accept it, 5 when either refuses, 4 when muvee gives no answer',
    ),
    httpTimeout: {
      ...httpTimeoutOption,
      description: 'with --muvee: give up on muvee after this long',
    },
  },
  examples: [
    'muvee-dingtalk verify-token - < token.txt      # from stdin: keeps the token out of shell history',
    'muvee-dingtalk verify-token "muvee_session=$(cat token.txt); theme=dark"   # a Cookie header',
    'muvee-dingtalk verify-token --leeway 30 --json - < token.txt',
    'muvee-dingtalk verify-token --each - < tokens.txt   # one JSON line per token',
    'muvee-dingtalk verify-token --decode - < token.txt  # no JWT_SECRET: what it says, UNVERIFIED',
    'muvee-dingtalk verify-token --muvee https://muvee.example.com - < token.txt   # and what the deployed muvee says',
  ],
  run: (context, [tokenArg = '-'], options) => verifyToken(context, tokenArg, options),
});

export interface VerifyTokenOptions {
  leeway: number;
  each?: boolean | undefined;
  decode?: boolean | undefined;
  /** `--muvee <url>`: also ask the deployed muvee (deployment/token-at-muvee.ts). */
  muvee?: string | undefined;
  httpTimeout?: number | undefined;
}

/** The whole command: `[token]` is the token, a cookie, or '-' for stdin. Exit 0 valid, 5 not. */
export async function verifyToken(
  context: Context,
  tokenArg: string,
  options: VerifyTokenOptions,
): Promise<number> {
  // --muvee: the URL is judged before anything is read, so a token never waits for a refusal.
  const muvee = options.muvee === undefined ? undefined : await muveeStep(options);
  if (options.decode) return decodeToken(context, tokenArg, options);
  const { out } = context;
  // runConfig, not command.ts's commandConfig: that module loads commander, which this path avoids.
  const config = runConfig(context.globals, context.io, { reading: true });
  if (config.dbArgvWarning) context.out.warn(config.dbArgvWarning);
  const secret = requireJwtSecret(
    config,
    'or add --decode to read the token without checking its signature',
  );
  const whitespace = jwtSecretWhitespace(config);
  if (whitespace) out.warn(whitespace);
  announceDb(out, config);
  if (options.each) {
    const settings = { secret, leewaySeconds: options.leeway };
    return verifyEach(context, config, settings, tokenArg, builtWorkerFile());
  }

  const token = await tokenInput(context, tokenArg);
  const result = verifySessionToken(token, secret, { leewaySeconds: options.leeway });

  // The store is opened only when a database file exists; nothing is created here.
  let user: StoredUser | undefined | null = null;
  let dbProblem: string | undefined;
  const uid = result.claims?.uid;
  if (typeof uid === 'string') {
    // The database is optional here: one that cannot be read is said, not a failure of the
    // verdict (a valid token stays exit 0, a forged one exit 5).
    try {
      const lookup = await userLookup(config.dbFile, (warning) => out.warn(warning), 'single');
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
  const atMuvee = muvee && (await muvee.ask(token, result));

  if (out.json) {
    out.document({
      ...jsonResult(result, user, undefined, dbProblem),
      ...(atMuvee ? { muvee: atMuvee } : {}),
    });
    return atMuvee ? muvee.exit(result.valid, atMuvee) : result.valid ? 0 : 5;
  }

  // The token's header and claims are anyone's text: sanitised for the terminal.
  const { c } = out;
  out.line(
    result.valid
      ? line`${c.green('✓')} valid muvee session token`
      : line`${c.red('✗')} rejected (${result.reason}): ${result.message}`,
  );
  if (result.muveeNote) out.line(line`  ${c.yellow('⚠')} ${result.muveeNote}`);
  else if (result.muveeReason) out.line(c.dim(line`  muvee rejects it too: ${result.muveeReason}`));
  const rows: [string, Safe | string][] = [];
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
    // A date no JavaScript date holds (beyond ±8.64e12 s) is shown as the number it is.
    const issued = typeof iat === 'number' ? safeTime(iat) : undefined;
    if (typeof iat === 'number')
      rows.push(['issued', issued ? `${issued} (${humanDuration(now - iat)} ago)` : String(iat)]);
    if (typeof exp === 'number') {
      const expires = safeTime(exp);
      rows.push([
        'expires',
        expires
          ? `${expires} (${exp >= now ? `expires in ${humanDuration(exp - now)}` : `expired ${humanDuration(now - exp)} ago`})`
          : `${exp} (beyond any date)`,
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
  if (atMuvee) {
    muvee.print(out, atMuvee);
    return muvee.exit(result.valid, atMuvee);
  }
  return result.valid ? 0 : 5;
}

/**
 * Built, `--each` may hand long inputs to worker threads (runtime/token-pool.ts):
 * dist/runtime/token-worker.cjs, from this code in dist/commands/ or inlined in dist/runtime/.
 * From the sources, none (a worker cannot load a `.ts` file under tsx on Node 20).
 */
function builtWorkerFile(): string | undefined {
  return import.meta.filename.endsWith('.cjs')
    ? join(import.meta.dirname, '..', 'runtime', 'token-worker.cjs')
    : undefined;
}

/**
 * `--muvee <url>`: one token, verified (not with --each or --decode); the URL must be https or
 * loopback (a usage error otherwise). Loads the HTTP client only here.
 */
async function muveeStep(options: VerifyTokenOptions) {
  if (options.each || options.decode) {
    throw new CliError(
      'usage',
      `--muvee asks the deployed muvee about one verified token; leave out --${options.each ? 'each' : 'decode'}`,
    );
  }
  const deployed = await import('../deployment/token-at-muvee.js');
  const url = deployed.muveeTarget(options.muvee!);
  return {
    ask: (token: string, local: VerifyResult) =>
      deployed.askMuveeAboutToken(url, token, local, (options.httpTimeout ?? 10) * 1000),
    print: deployed.printTokenAtMuvee,
    exit: deployed.exitWithMuvee,
  };
}

/** The one token of a run: the argument, or stdin for '-', found in a cookie if need be. */
async function tokenInput(context: Context, tokenArg: string): Promise<string> {
  let input = tokenArg;
  if (input === '-') {
    const stdin = context.io.stdin();
    if (stdin.isTTY)
      context.out.note(
        line`paste the token (or the Cookie header value), then press Enter and Ctrl-D:`,
      );
    input = await readAll(stdin);
  }
  if (input.trim() === '') {
    throw new CliError('usage', "no token given; pass it as an argument, or pipe it in with '-'");
  }
  return extractToken(input);
}

/** Marks everything `--decode` prints: nothing in it has been checked. */
const UNVERIFIED = 'UNVERIFIED — signature not checked';

/**
 * `--decode`: a token's header and claims WITHOUT checking its signature or anything else, so
 * without JWT_SECRET (and without reading the configuration at all); every line says so, and
 * the JSON says `"verified": false`. Exit 0 when it decodes, 5 when it is malformed.
 */
async function decodeToken(
  context: Context,
  tokenArg: string,
  options: VerifyTokenOptions,
): Promise<number> {
  const { out } = context;
  if (options.each) {
    throw new CliError(
      'usage',
      '--decode reads one token; leave out --each (or --decode, to verify many tokens with JWT_SECRET)',
    );
  }
  const decoded = decodeSessionToken(await tokenInput(context, tokenArg));
  if (out.json) {
    out.document(
      decoded.decoded
        ? {
            verified: false,
            message: `${UNVERIFIED}: decoded only; anyone can write a token that reads like this`,
            header: decoded.header,
            claims: decoded.claims,
            expiresAt: decoded.expiresAt,
          }
        : {
            verified: false,
            reason: 'malformed',
            message: decoded.message,
            header: null,
            claims: null,
            expiresAt: null,
          },
    );
    return decoded.decoded ? 0 : 5;
  }
  const { c } = out;
  if (!decoded.decoded) {
    out.line(line`${c.red('✗')} cannot decode (malformed): ${safe(decoded.message)}`);
    return 5;
  }
  out.line(
    line`${c.yellow('⚠')} ${c.bold(UNVERIFIED)}: decoded only; anyone can write a token that reads like this`,
  );
  // Names and values are the token author's text: sanitised, every one marked.
  const rows: [string, Safe | string][] = [
    ['header (unverified)', safe(JSON.stringify(decoded.header))],
  ];
  const now = nowSeconds();
  for (const [name, value] of Object.entries(decoded.claims)) {
    let text = typeof value === 'string' ? value : JSON.stringify(value);
    const time = DATES.has(name) && typeof value === 'number' ? safeTime(value) : undefined;
    if (time !== undefined) {
      const span = humanDuration((value as number) - now);
      text += ` = ${time} (${(value as number) >= now ? `in ${span}` : `${span} ago`})`;
    }
    rows.push([`${safe(name)} (unverified)`, safe(text)]);
  }
  out.table(rows);
  out.line(c.dim('  to check it: verify-token without --decode (needs JWT_SECRET)'));
  return 0;
}

/** Reasons that come after a verified signature: the claims are the signer's. */
const SIGNED_REASONS = new Set(['expired', 'not-yet-valid', 'bad-claims']);

const DATES = new Set(['iat', 'nbf', 'exp']);

/** humanTime, or undefined for a number no date can hold. */
function safeTime(epochSeconds: number): string | undefined {
  try {
    return humanTime(epochSeconds);
  } catch {
    return undefined;
  }
}
