/**
 * `verify-token`'s JSON verdict, and `--each`: a token per line of stdin, one JSON line per
 * token, verified in batches on the main thread and, for long inputs, on worker threads
 * (runtime/token-pool.ts). Apart from commands/verify-token.ts because a worker thread loads
 * only this (runtime/token-worker.ts).
 */
import type { Context } from '../cli/command.js';
import type { Config } from '../config/config.js';
import { CliError, isCliError } from '../cli/errors.js';
import { line } from '../cli/output.js';
import { jsonText } from '../cli/sanitize.js';
import {
  extractToken,
  MAX_TOKEN_CHARS,
  muveeVerdict,
  nowSeconds,
  verifySessionToken,
  type VerifyResult,
} from '../muvee/token-verdict.js';
import { useNativeHmac } from '../muvee/go-jwt.js';
import type { StoredUser } from '../muvee/model.js';
import { userLookup, type UserLookup } from '../store/lookup.js';
import {
  AHEAD_BATCHES,
  BATCH_LINES,
  capYoungGeneration,
  WorkerPool,
  WORKERS_AFTER_LINES,
  type Batch,
  type BatchVerdicts,
  type EachSettings,
} from '../runtime/token-pool.js';

/**
 * The JSON verdict on one token. `user`: null when there is no database file (nothing was
 * checked), undefined when the database has no user with the token's uid. `dbProblem`: why
 * the user could not be looked up (then `user` is null): the verdict stands without it.
 */
export function jsonResult(
  result: VerifyResult,
  user: StoredUser | undefined | null,
  line?: number,
  dbProblem?: string,
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
    dbProblem,
  };
}

/** `--each` keeps a line up to this long; a longer one is a rejected line, not read. */
const MAX_LINE_CHARS = MAX_TOKEN_CHARS + 4096;
/** Marks a line that was too long (followed by its length): it never holds a token. */
const OVERLONG = '\u0000overlong:';

/** Output is written in chunks of about this many characters, not a write per line. */
const CHUNK = 64 * 1024;

/**
 * Verifies a batch of `--each` lines in order. Synchronous with the local store or none (a
 * worker's case); with muvee's PostgreSQL, whose lookups are promises, a promise.
 */
export function verifyBatch(
  batch: Batch,
  settings: EachSettings,
  lookup: UserLookup | undefined,
): BatchVerdicts | Promise<BatchVerdicts> {
  const verdicts: BatchVerdicts = { text: '', count: 0, valid: 0, unlooked: 0 };
  const { lines, first } = batch;
  // The database is optional to a verdict (issue 20 M6): a lookup that failed is said.
  const add = (
    result: VerifyResult,
    line: number,
    user: StoredUser | undefined | null,
    problem?: unknown,
  ) => {
    if (problem !== undefined && !isCliError(problem)) throw problem;
    if (problem) {
      verdicts.unlooked++;
      verdicts.dbProblem ??= problem.message;
    }
    verdicts.text += jsonLine(result, user, line, problem?.message);
  };
  // One line; a promise while its PostgreSQL lookup is under way.
  const step = (i: number): void | Promise<void> => {
    const text = lines[i]!.trim();
    if (text === '') return;
    const result = verifyLine(text, settings);
    verdicts.count++;
    if (result.valid) verdicts.valid++;
    const uid = result.claims?.uid;
    let found: ReturnType<UserLookup['find']> | null = null;
    try {
      if (lookup && typeof uid === 'string') found = lookup.find(uid);
    } catch (error) {
      return add(result, first + i, null, error);
    }
    if (found instanceof Promise)
      return found.then(
        (user) => add(result, first + i, user),
        (error: unknown) => add(result, first + i, null, error),
      );
    add(result, first + i, found);
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

function jsonLine(
  result: VerifyResult,
  user: StoredUser | undefined | null,
  line: number,
  dbProblem: string | undefined,
): string {
  return `${jsonText(jsonResult(result, user, line, dbProblem))}\n`;
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
export async function verifyEach(
  context: Context,
  config: Config,
  settings: EachSettings,
  tokenArg: string,
  workerFile: string | undefined,
): Promise<number> {
  const { out, io } = context;
  if (tokenArg !== '-') {
    throw new CliError(
      'usage',
      "--each reads tokens from stdin, one per line: pass '-' (verify-token --each - < tokens.txt)",
    );
  }
  // Many tokens: node:crypto's native HMAC is worth its load (one token is hashed in JS).
  useNativeHmac();
  const stdin = io.stdin();
  if (stdin.isTTY) out.note(line`paste tokens, one per line, then press Ctrl-D:`);
  const lookup = await userLookup(config.dbFile, (warning) => out.warn(warning));
  let lineNumber = 0;
  let count = 0;
  let valid = 0;
  let unlooked = 0;
  let dbProblem: string | undefined;
  let buffered = '';
  let batch: Batch = { first: 1, lines: [] };
  // Batches in input order: answered, or waiting for a worker.
  const answers: { verdicts?: BatchVerdicts; wait?: Promise<unknown> }[] = [];
  let pool: WorkerPool | undefined;
  let submitted = 0;
  const submit = async () => {
    if (batch.lines.length === 0) return;
    const next = batch;
    batch = { first: lineNumber + 1, lines: [] };
    if (++submitted % 64 === 0) await capYoungGeneration();
    if (!pool && workerFile && lookup?.workers !== false && lineNumber > WORKERS_AFTER_LINES) {
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
        if (!all && answers.length <= AHEAD_BATCHES) return;
        await head.wait;
      }
      answers.shift();
      const { verdicts } = head as { verdicts: BatchVerdicts };
      count += verdicts.count;
      valid += verdicts.valid;
      unlooked += verdicts.unlooked;
      dbProblem ??= verdicts.dbProblem;
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
  out.note(
    line`${count} token${count === 1 ? '' : 's'}: ${valid} valid, ${count - valid} rejected`,
  );
  if (unlooked > 0)
    out.warn(
      `the user of ${unlooked} token${unlooked === 1 ? ' was' : 's was'} not looked up (userInDb null, dbProblem in each line): ${dbProblem}`,
    );
  return valid === count ? 0 : 5;
}
