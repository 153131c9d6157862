/**
 * The differential comparison of verify-token with muvee's own code (muvee-oracle `judge`):
 * the users both sides know, the corpus with muvee's minted tokens, the recorded verdicts
 * (test/fixtures/differential/tokens.jsonl), and the counts. Used by
 * test/differential-tokens.test.ts and scripts/record-differential.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { readGoToken } from '../../src/muvee/go-jwt.ts';
import { ROOT } from '../helpers.ts';
import { generateTokenCorpus, type CorpusToken } from './token-corpus.ts';

export const FIXTURE = join(ROOT, 'test/fixtures/differential/tokens.jsonl');
export const DIFF_SECRET = 'differential-jwt-secret-0123456789abcdef01';
export const SEED = Number(process.env.DIFF_SEED ?? 19);
export const COUNT = Number(process.env.DIFF_COUNT ?? 3000);

/** The users in every database of the comparison (muvee's PostgreSQL and the local SQLite). */
export const USERS = [
  {
    id: '5b0c1f3e-8d2a-4c71-9e4b-0a1b2c3d4e5f',
    email: 'admin@corp.example',
    role: 'admin',
    authorized: true,
  },
  {
    id: '6c1d2e4f-9e3b-4d82-8f5c-1b2c3d4e5f60',
    email: 'member@corp.example',
    role: 'member',
    authorized: true,
  },
  {
    id: '7d2e3f50-af4c-4e93-9a6d-2c3d4e5f6071',
    email: 'pending@corp.example',
    role: 'member',
    authorized: false,
  },
  {
    id: '8e3f4061-b05d-4fa4-8b7e-3d4e5f607182',
    email: 'nomember@corp.example',
    role: null,
    authorized: false,
  },
] as const;
/** A uid no database holds. */
export const STRANGER = '9f405172-c16e-40b5-9c8f-4e5f60718293';

/** What muvee-oracle judge says about one token (the fields the comparison reads). */
export interface OracleVerdict {
  accepted: boolean;
  parseOk: boolean;
  parseErr?: string;
  uuidOk: boolean;
  mwBearer: number;
}

/** One JSON line of verify-token --each / one --json document. */
export interface ToolVerdict {
  line?: number;
  valid: boolean;
  reason?: string;
  message: string;
  muveeAccepts: boolean;
  muveeNote?: string;
  muveeReason?: string;
  userInDb: boolean | null;
}

export function corpus(): CorpusToken[] {
  return generateTokenCorpus({
    seed: SEED,
    count: COUNT,
    secret: DIFF_SECRET,
    users: [...USERS.map((u) => u.id), STRANGER],
  });
}

/** Lines for `muvee-oracle mint`: each user, the stranger, odd emails and roles. */
export function mintLines(): string[] {
  return [
    ...USERS.map((u) => `${u.id} ${u.email} ${u.role ?? 'member'}`),
    `${STRANGER} stranger@corp.example admin`,
    `${USERS[0].id} ZhangSan@Corp.Example member`,
    `${USERS[1].id} 张三@corp.example\u{feff} admin`,
    `${USERS[0].id} @dingtalk.local member`,
  ];
}

export const shaOf = (token: string) =>
  createHash('sha256').update(token).digest('hex').slice(0, 16);

export interface FixtureMeta {
  kind: 'meta';
  seed: number;
  count: number;
  recordedAt: number;
  oracle: string;
}
export interface FixtureEntry {
  label: string;
  sha: string;
  /** Stored for muvee's minted tokens only; the generated ones are made again from the seed. */
  token?: string;
  oracle: OracleVerdict;
}

export function slimVerdict(v: OracleVerdict): OracleVerdict {
  return {
    accepted: v.accepted,
    parseOk: v.parseOk,
    ...(v.parseErr ? { parseErr: v.parseErr } : {}),
    uuidOk: v.uuidOk,
    mwBearer: v.mwBearer,
  };
}

/** The recorded run: its meta line, and each token with muvee's verdict (made again, checked). */
export function readFixture(): {
  meta: FixtureMeta;
  tokens: CorpusToken[];
  verdicts: OracleVerdict[];
} {
  const [first, ...rest] = readFileSync(FIXTURE, 'utf8').split('\n').filter(Boolean);
  const meta = JSON.parse(first!) as FixtureMeta;
  const entries = rest.map((l) => JSON.parse(l) as FixtureEntry);
  const generated = generateTokenCorpus({
    seed: meta.seed,
    count: meta.count,
    secret: DIFF_SECRET,
    users: [...USERS.map((u) => u.id), STRANGER],
  });
  const tokens: CorpusToken[] = [];
  let g = 0;
  for (const entry of entries) {
    const token = entry.token ?? generated[g++]?.token;
    if (token === undefined || shaOf(token) !== entry.sha)
      throw new Error(
        `the fixture does not match the corpus generator at '${entry.label}': run node scripts/record-differential.mjs tokens`,
      );
    tokens.push({ label: entry.label, token });
  }
  return { meta, tokens, verdicts: entries.map((e) => e.oracle) };
}

/** muvee's reason as the tool should word it (muveeReason), from the oracle's verdict. */
function expectedReason(v: OracleVerdict): string | RegExp | undefined {
  if (v.accepted) return undefined;
  if (v.parseErr) return v.parseErr;
  return /^uid .* is not a UUID for muvee's middleware \(uuid\.Parse: /;
}

export interface Counts {
  tokens: number;
  agree: number;
  stricterAndSaid: number;
  looser: number;
  silent: number;
  wrongReason: number;
  crashes: number;
  dbMismatch: number;
  skipped: number;
}

export const emptyCounts = (): Counts => ({
  tokens: 0,
  agree: 0,
  stricterAndSaid: 0,
  looser: 0,
  silent: 0,
  wrongReason: 0,
  crashes: 0,
  dbMismatch: 0,
  skipped: 0,
});

/**
 * Compares the tool's verdicts with muvee's, token by token; `problems` names each token in a
 * count that must be 0. `db`: the run had the users' database (userInDb means something).
 */
export function compare(
  tokens: CorpusToken[],
  oracle: OracleVerdict[],
  tool: (ToolVerdict | undefined)[],
  options: { db: boolean; skip?: (i: number) => boolean },
): { counts: Counts; problems: string[] } {
  const counts = emptyCounts();
  const problems: string[] = [];
  const say = (kind: keyof Counts, i: number, detail: string) => {
    counts[kind]++;
    if (problems.length < 40) problems.push(`${kind}: ${tokens[i]!.label}: ${detail}`);
  };
  tokens.forEach((_, i) => {
    if (options.skip?.(i)) return void counts.skipped++;
    counts.tokens++;
    const o = oracle[i]!;
    const t = tool[i];
    if (!t) return say('crashes', i, 'no verdict');
    const brief = `tool ${JSON.stringify({ valid: t.valid, reason: t.reason, muveeAccepts: t.muveeAccepts, note: t.muveeNote, muveeReason: t.muveeReason })} muvee ${JSON.stringify(o)}`;
    if (t.valid && !o.accepted) return say('looser', i, brief);
    if (t.muveeAccepts !== o.accepted) return say('silent', i, brief);
    if (!t.valid && o.accepted) {
      if (!/^muvee itself would accept this token because \S/.test(t.muveeNote ?? ''))
        return say('silent', i, brief);
      counts.stricterAndSaid++;
    } else counts.agree++;
    const reason = expectedReason(o);
    if (
      reason !== undefined &&
      !(typeof reason === 'string' ? t.muveeReason === reason : reason.test(t.muveeReason ?? ''))
    )
      say('wrongReason', i, brief);
    if (options.db && t.valid && t.userInDb !== (o.mwBearer === 200))
      say('dbMismatch', i, `userInDb ${t.userInDb}, muvee's middleware ${o.mwBearer}`);
  });
  return { counts, problems };
}

/** Parses verify-token --each output into one verdict per input line (by its `line`). */
export function eachVerdicts(stdout: string, lines: number): (ToolVerdict | undefined)[] {
  const out: (ToolVerdict | undefined)[] = new Array(lines);
  for (const text of stdout.split('\n')) {
    if (!text) continue;
    try {
      const v = JSON.parse(text) as ToolVerdict;
      if (v.line !== undefined) out[v.line - 1] = v;
    } catch {
      // a broken line counts as a missing verdict
    }
  }
  return out;
}

/**
 * jsonwebtoken's signature verdict on a token (a second opinion on the tool's own HS256 check):
 * true/false once it reached the signature, undefined when it stopped before (not a JWS it
 * reads, or not HS256).
 */
export function jsonwebtokenSignature(token: string, secret: string): boolean | undefined {
  try {
    jwt.verify(token, secret, {
      algorithms: ['HS256'],
      ignoreExpiration: true,
      ignoreNotBefore: true,
    });
    return true;
  } catch (error) {
    // A plain SyntaxError: jsonwebtoken's own JSON.parse of the payload, before the signature.
    if (!(error instanceof jwt.JsonWebTokenError)) return undefined;
    const message = error.message;
    if (message === 'invalid signature') return false;
    if (
      /^(jwt malformed|invalid token|invalid algorithm|jwt signature is required|jwt must be)/.test(
        message,
      )
    )
      return undefined;
    // Anything after the signature (a claim jsonwebtoken dislikes): the signature verified.
    return true;
  }
}

/** The tool's own HS256 check, as verify-token makes it. */
export const toolSignature = (token: string, secret: string) =>
  readGoToken(token, secret, 0).hs256Matches;

export function formatCounts(mode: string, c: Counts): string {
  return `${mode}: ${c.tokens} tokens: ${c.agree} agree, ${c.stricterAndSaid} stricter-and-said, ${c.looser} looser, ${c.silent} silent, ${c.wrongReason} wrong reason, ${c.crashes} crashes${c.dbMismatch ? `, ${c.dbMismatch} DB mismatches` : ''}${c.skipped ? ` (${c.skipped} skipped: time-dependent since recording)` : ''}`;
}
