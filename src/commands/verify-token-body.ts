/**
 * `verify-token`'s work, apart from its declaration (commands/verify-token.ts) so the bin can
 * run it without commander (runtime/fast-verify-token.ts): one token, printed for humans or as
 * one JSON document, or `--each`: a token per line of stdin, one JSON line per token.
 *
 * Loads only what verification needs: the configuration, token-verdict.ts (muvee's own reading
 * of a token and node:crypto's HMAC; no jsonwebtoken) and, when a database file exists, the
 * store for a lookup by id.
 */
import { existsSync } from 'node:fs';
import type { Context } from '../cli/command.js';
import { jwtSecretWhitespace, requireJwtSecret, runConfig, type Config } from '../config/config.js';
import { CliError, isCliError } from '../cli/errors.js';
import { humanDuration, humanTime } from '../cli/output.js';
import { safe } from '../cli/sanitize.js';
import {
  decodeSessionToken,
  extractToken,
  MAX_TOKEN_CHARS,
  muveeVerdict,
  nowSeconds,
  verifySessionToken,
  type VerifyResult,
} from '../muvee/token-verdict.js';
import type { StoredUser } from '../store/sqlite/store.js';
import type { Worker } from 'node:worker_threads';

export interface VerifyTokenOptions {
  leeway: number;
  each?: boolean | undefined;
  decode?: boolean | undefined;
}

/** The whole command: `[token]` is the token, a cookie, or '-' for stdin. Exit 0 valid, 5 not. */
export async function verifyToken(
  context: Context,
  tokenArg: string,
  options: VerifyTokenOptions,
  workerFile?: URL,
): Promise<number> {
  if (options.decode) return decodeToken(context, tokenArg, options);
  const { out } = context;
  // runConfig, not command.ts's commandConfig: that module loads commander, which this path avoids.
  const config = runConfig(context.globals, context.io);
  const secret = requireJwtSecret(
    config,
    'or add --decode to read the token without checking its signature',
  );
  const whitespace = jwtSecretWhitespace(config);
  if (whitespace) out.warn(whitespace);
  if (options.each) {
    const settings = { secret, leewaySeconds: options.leeway };
    return verifyEach(context, config, settings, tokenArg, workerFile);
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
  else if (result.muveeReason)
    out.line(c.dim(`  muvee rejects it too: ${safe(result.muveeReason)}`));
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
  return result.valid ? 0 : 5;
}

/** The one token of a run: the argument, or stdin for '-', found in a cookie if need be. */
async function tokenInput(context: Context, tokenArg: string): Promise<string> {
  let input = tokenArg;
  if (input === '-') {
    const stdin = context.io.stdin();
    if (stdin.isTTY)
      context.out.note(
        'paste the token (or the Cookie header value), then press Enter and Ctrl-D:',
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
    out.line(`${c.red('✗')} cannot decode (malformed): ${safe(decoded.message)}`);
    return 5;
  }
  out.line(
    `${c.yellow('⚠')} ${c.bold(UNVERIFIED)}: decoded only; anyone can write a token that reads like this`,
  );
  // Names and values are the token author's text: sanitised, every one marked.
  const rows: [string, string][] = [['header (unverified)', safe(JSON.stringify(decoded.header))]];
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

const DATES = new Set(['iat', 'nbf', 'exp']);

/** humanTime, or undefined for a number no date can hold. */
function safeTime(epochSeconds: number): string | undefined {
  try {
    return humanTime(epochSeconds);
  } catch {
    return undefined;
  }
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
    muveeReason: result.muveeReason || undefined,
    userInDb: user === null ? null : user !== undefined,
    roleInDb: user ? user.role : undefined,
    roleMatches: user ? user.role === result.claims?.role : undefined,
  };
}

/** Reasons that come after a verified signature: the claims are the signer's. */
const SIGNED_REASONS = new Set(['expired', 'not-yet-valid', 'bad-claims']);

export interface UserLookup {
  find: (id: string) => StoredUser | undefined | Promise<StoredUser | undefined>;
  close: () => void | Promise<void>;
}

/**
 * A lookup of users by id in the configured database (the local file, or muvee's PostgreSQL:
 * then muvee's own user and platform role), or undefined when there is no database file.
 */
export async function userLookup(config: Config): Promise<UserLookup | undefined> {
  if (config.dbIsPostgres) {
    const { openUserStore } = await import('../store/index.js');
    const store = await openUserStore(config.dbFile);
    return {
      find: async (id) => (/^[0-9a-f-]{36}$/i.test(id) ? store.findById(id) : undefined),
      close: () => store.close(),
    };
  }
  if (!existsSync(config.dbFile)) return undefined;
  const { Store } = await import('../store/sqlite/store.js');
  const store = Store.openReadOnly(config.dbFile);
  if (!store) return undefined;
  try {
    return { find: store.userFinder(), close: () => store.close() };
  } catch (error) {
    store.close();
    throw error;
  }
}

/** `--each` keeps a line up to this long; a longer one is a rejected line, not read. */
const MAX_LINE_CHARS = MAX_TOKEN_CHARS + 4096;
/** Marks a line that was too long (followed by its length): it never holds a token. */
const OVERLONG = '\u0000overlong:';

/** Output is written in chunks of about this many characters, not a write per line. */
const CHUNK = 64 * 1024;
/** `--each` verifies lines in batches of this many, on the main thread or a worker thread. */
const BATCH_LINES = 1000;
/** Worker threads start once the input is this long: starting one costs ~20 ms. */
const WORKERS_AFTER_LINES = 2 * BATCH_LINES;
/** Batches handed to one worker and not yet answered, at most. */
const PER_WORKER = 4;

/** Lines of `--each` input; `first` is the line number of the first one. */
export interface Batch {
  first: number;
  lines: string[];
}

/** The JSON lines of a batch (empty lines give none), and how many tokens and valid ones. */
export interface BatchVerdicts {
  text: string;
  count: number;
  valid: number;
}

/** What `--each` needs to verify a line, on the main thread or in a worker (token-worker.ts). */
export interface EachSettings {
  secret: string;
  leewaySeconds: number;
}

/**
 * Verifies a batch of `--each` lines in order. Synchronous with the local store or none (a
 * worker's case); with muvee's PostgreSQL, whose lookups are promises, a promise.
 */
export function verifyBatch(
  batch: Batch,
  settings: EachSettings,
  lookup: UserLookup | undefined,
): BatchVerdicts | Promise<BatchVerdicts> {
  const verdicts: BatchVerdicts = { text: '', count: 0, valid: 0 };
  const { lines, first } = batch;
  // One line; a promise while its PostgreSQL lookup is under way.
  const step = (i: number): void | Promise<void> => {
    const text = lines[i]!.trim();
    if (text === '') return;
    const result = verifyLine(text, settings);
    verdicts.count++;
    if (result.valid) verdicts.valid++;
    const uid = result.claims?.uid;
    const found = lookup && typeof uid === 'string' ? lookup.find(uid) : null;
    if (found instanceof Promise)
      return found.then((user) => void (verdicts.text += jsonLine(result, user, first + i)));
    verdicts.text += jsonLine(result, found, first + i);
  };
  for (let i = 0; i < lines.length; i++) {
    const wait = step(i);
    if (wait) {
      // From here on one line at a time, in order.
      return (async () => {
        await wait;
        for (i++; i < lines.length; i++) await step(i);
        return verdicts;
      })();
    }
  }
  return verdicts;
}

function verifyLine(text: string, { secret, leewaySeconds }: EachSettings): VerifyResult {
  if (text.startsWith(OVERLONG)) {
    return {
      valid: false,
      reason: 'malformed',
      message: `the line is ${text.slice(OVERLONG.length)} characters long, more than any token (limit ${MAX_LINE_CHARS}); it was not read`,
      header: null,
      claims: null,
      expiresAt: null,
      muveeAccepts: false,
      muveeReason: "request header too large: muvee's HTTP server reads at most 1 MiB of headers",
    };
  }
  try {
    return verifySessionToken(extractToken(text), secret, { leewaySeconds });
  } catch (error) {
    // extractToken: a line with '=' but no muvee_session cookie; muvee reads it as it is.
    const muvee = muveeVerdict(text, secret, nowSeconds());
    return {
      valid: false,
      reason: 'malformed',
      message: error instanceof Error ? error.message : String(error),
      header: null,
      claims: null,
      expiresAt: null,
      muveeAccepts: muvee.accepts,
      ...(muvee.accepts
        ? { muveeNote: 'muvee itself would accept this token because it reads the line as it is' }
        : { muveeReason: muvee.reason }),
    };
  }
}

function jsonLine(result: VerifyResult, user: StoredUser | undefined | null, line: number): string {
  return `${JSON.stringify(jsonResult(result, user, line))}\n`;
}

/**
 * `--each`: every non-empty line of stdin is a token (or cookie); one JSON line per token on
 * stdout, `{"line": n, ...the --json verdict}`, in input order; a count on stderr. Exit 0 when
 * every token is valid, 5 when any is not; no token at all is a usage error.
 *
 * Lines are verified in batches. A long input (WORKERS_AFTER_LINES) also goes to worker
 * threads (`workerFile`, runtime/token-worker.ts; one per core beyond the first, at most 3)
 * while the main thread keeps verifying batches itself; answers are written in input order.
 * Not with muvee's PostgreSQL (its lookups are the main thread's).
 */
async function verifyEach(
  context: Context,
  config: Config,
  settings: EachSettings,
  tokenArg: string,
  workerFile: URL | undefined,
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
  let buffered = '';
  let batch: Batch = { first: 1, lines: [] };
  // Batches in input order: answered, or waiting for a worker.
  const answers: { verdicts?: BatchVerdicts; wait?: Promise<unknown> }[] = [];
  let pool: WorkerPool | undefined;
  const submit = async () => {
    if (batch.lines.length === 0) return;
    const next = batch;
    batch = { first: lineNumber + 1, lines: [] };
    if (!pool && workerFile && !config.dbIsPostgres && lineNumber >= WORKERS_AFTER_LINES) {
      const { availableParallelism } = await import('node:os');
      const size = Math.min(3, availableParallelism() - 1);
      if (size > 0) pool = await WorkerPool.start(workerFile, { settings, config }, size);
    }
    if (pool?.free()) {
      const answer: (typeof answers)[number] = {};
      answer.wait = pool.verify(next).then((verdicts) => (answer.verdicts = verdicts));
      // Awaited in order by drain; a failure after an earlier one is not unhandled.
      answer.wait.catch(() => {});
      answers.push(answer);
    } else {
      answers.push({ verdicts: await verifyBatch(next, settings, lookup) });
    }
  };
  // Writes the answers at the head that are there (all of them at the end).
  const drain = async (all: boolean) => {
    while (answers.length > 0) {
      const head = answers[0]!;
      if (!head.verdicts) {
        // Waits only at the end, or when the main thread is too far ahead of a worker.
        if (!all && answers.length <= 16) return;
        await head.wait;
      }
      answers.shift();
      const { verdicts } = head as { verdicts: BatchVerdicts };
      count += verdicts.count;
      valid += verdicts.valid;
      buffered += verdicts.text;
      if (buffered.length >= CHUNK) {
        io.stdout.write(buffered);
        buffered = '';
      }
    }
  };
  try {
    const { StringDecoder } = await import('node:string_decoder');
    const decoder = new StringDecoder('utf8');
    // The line being read, in pieces: a newline is searched for in each new chunk only, and a
    // line longer than MAX_LINE_CHARS is not kept (it becomes a rejected line: OVERLONG).
    let pending: string[] = [];
    let pendingLength = 0;
    const endLine = async (last: string) => {
      const line =
        pendingLength > MAX_LINE_CHARS
          ? `${OVERLONG}${pendingLength + last.length}`
          : pending.length === 0
            ? last
            : pending.join('') + last;
      pending = [];
      pendingLength = 0;
      batch.lines.push(line);
      lineNumber++;
      if (batch.lines.length === BATCH_LINES) await submit();
    };
    const keep = (piece: string) => {
      if (pendingLength <= MAX_LINE_CHARS && pendingLength + piece.length <= MAX_LINE_CHARS)
        pending.push(piece);
      else pending = [];
      pendingLength += piece.length;
    };
    for await (const chunk of stdin) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        await endLine(text.slice(start, end));
        start = end + 1;
      }
      if (start < text.length) keep(text.slice(start));
      await drain(false);
    }
    const rest = decoder.end();
    if (rest !== '') keep(rest);
    if (pendingLength > 0) await endLine('');
    await submit();
    await drain(true);
  } finally {
    if (buffered !== '') io.stdout.write(buffered);
    await Promise.all([lookup?.close(), pool?.close()]);
  }
  if (count === 0) {
    throw new CliError('usage', 'no tokens on stdin; pipe them in, one per line');
  }
  out.note(`${count} token${count === 1 ? '' : 's'}: ${valid} valid, ${count - valid} rejected`);
  return valid === count ? 0 : 5;
}

/** What a worker thread of `--each` starts with (runtime/token-worker.ts). */
export interface WorkerData {
  settings: EachSettings;
  config: Config;
}

type Job = { resolve: (verdicts: BatchVerdicts) => void; reject: (error: unknown) => void };

/** Worker threads of `--each`, each verifying at most PER_WORKER batches at a time. */
class WorkerPool {
  static async start(file: URL, data: WorkerData, size: number): Promise<WorkerPool> {
    const { Worker } = await import('node:worker_threads');
    return new WorkerPool(
      // stdout/stderr: the workers print nothing; piping them to the process's own would
      // create process.stdout, whose pipe is then non-blocking (runtime/fd.ts writes to fd 1).
      Array.from(
        { length: size },
        () => new Worker(file, { workerData: data, stdout: true, stderr: true }),
      ),
    );
  }

  private readonly jobs = new Map<Worker, Map<number, Job>>();
  private readonly exited: Promise<unknown>[] = [];
  private failed = false;
  private nextId = 0;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      const jobs = new Map<number, Job>();
      this.jobs.set(worker, jobs);
      const fail = (error: unknown) => {
        this.failed = true;
        for (const job of jobs.values()) job.reject(error);
        jobs.clear();
      };
      worker.on('message', ({ id, verdicts }: { id: number; verdicts: BatchVerdicts }) => {
        jobs.get(id)?.resolve(verdicts);
        jobs.delete(id);
      });
      worker.on('error', fail);
      this.exited.push(
        new Promise((resolve) =>
          worker.once('exit', (code) => {
            if (jobs.size > 0) fail(new Error(`a verify-token worker thread exited (${code})`));
            resolve(code);
          }),
        ),
      );
    }
  }

  /** The least busy worker, when one has room for another batch. */
  private idlest(): Worker | undefined {
    if (this.failed) return undefined;
    const [worker] = [...this.jobs].sort(([, a], [, b]) => a.size - b.size)[0] ?? [];
    return worker && this.jobs.get(worker)!.size < PER_WORKER ? worker : undefined;
  }

  free(): boolean {
    return this.idlest() !== undefined;
  }

  verify(batch: Batch): Promise<BatchVerdicts> {
    const worker = this.idlest()!;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.jobs.get(worker)!.set(id, { resolve, reject });
      worker.postMessage({ id, batch });
    });
  }

  /** Asks each worker to close its store and end, and waits for them. */
  async close(): Promise<void> {
    for (const worker of this.workers) worker.postMessage({ close: true });
    await Promise.all(this.exited);
  }
}

/** All of stdin as text (as command.ts's readAll; that module loads commander). */
async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer | string));
  return Buffer.concat(chunks).toString('utf8');
}
