/**
 * verify-token against muvee's own code (issue 19): a seeded corpus of a few thousand tokens
 * (test/differential/token-corpus.ts) plus tokens muvee mints itself, judged by muvee-oracle
 * (muvee's ParseJWT, uuid.Parse and Middleware, with a migrated database holding USERS) and by
 * the built CLI: `verify-token --each - --json` with no database, with a SQLite one and with
 * muvee's PostgreSQL, and `verify-token --json` one token at a time for a sample.
 *
 * The promise checked: never looser (tool valid ⇒ muvee accepts), `muveeAccepts` equal to
 * muvee's verdict for every token, a `muveeNote` wherever the tool is stricter, `muveeReason`
 * in muvee's own words wherever muvee rejects, no crash and no missing line. The counts are
 * printed. Live against muvee-oracle when it is there; otherwise against the verdicts it
 * recorded (test/fixtures/differential/tokens.jsonl; node scripts/record-differential.mjs tokens), and the
 * output says which ran.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readGoToken } from '../src/muvee/go-jwt.ts';
import {
  compare,
  corpus,
  DIFF_SECRET,
  eachVerdicts,
  formatCounts,
  jsonwebtokenSignature,
  mintLines,
  readFixture,
  toolSignature,
  type Counts,
  type OracleVerdict,
  type ToolVerdict,
} from './differential/compare-tokens.ts';
import type { CorpusToken } from './differential/token-corpus.ts';
import { sqliteWorld, startOracleWorld, type OracleWorld } from './differential/world.ts';
import { baseEnv, runBin, tempDir } from './helpers.ts';
import { oracleUnavailable } from './oracle/oracle.ts';
import { pgUnavailable } from './pg/cluster.ts';

const why = oracleUnavailable();
const LIVE = why === undefined;
const SOURCE = LIVE
  ? 'LIVE against muvee-oracle'
  : `RECORDED verdicts (muvee-oracle absent: ${why})`;

interface Run {
  tokens: CorpusToken[];
  oracle: OracleVerdict[];
  world?: OracleWorld;
  /** Tokens whose verdict may have changed with the clock since recording. */
  skip: (i: number) => boolean;
}

async function prepare(): Promise<Run> {
  if (LIVE) {
    const world = await startOracleWorld();
    const minted = await world.mint(mintLines());
    const tokens = [
      ...corpus(),
      ...minted.map((token, i) => ({ label: `minted:${mintLines()[i]}`, token })),
    ];
    return {
      tokens,
      oracle: await world.judge(tokens.map((t) => t.token)),
      world,
      skip: () => false,
    };
  }
  const { meta, tokens, verdicts } = readFixture();
  const now = Math.floor(Date.now() / 1000);
  // A date between the recording and now (a minute either side) may have turned.
  const turned = (date: { unix: number } | undefined) =>
    date !== undefined && date.unix >= meta.recordedAt - 60 && date.unix <= now + 60;
  const skip = (i: number) => {
    const fields = readGoToken(tokens[i]!.token, DIFF_SECRET, now).fields;
    return turned(fields?.exp) || turned(fields?.nbf);
  };
  return { tokens, oracle: verdicts, skip };
}

const ENV = { JWT_SECRET: DIFF_SECRET };

async function runEach(run: Run, cwd: string, env: Record<string, string>) {
  const input = `${run.tokens.map((t) => t.token).join('\n')}\n`;
  const r = await runBin(['verify-token', '--each', '-', '--json'], {
    cwd,
    env: baseEnv({ ...ENV, ...env }),
    input,
  });
  return { code: r.code, verdicts: eachVerdicts(r.stdout, run.tokens.length), stderr: r.stderr };
}

function report(t: { diagnostic(m: string): void }, line: string) {
  t.diagnostic(line);
  console.log(`differential tokens (${SOURCE}): ${line}`);
}

function assertPromise(counts: Counts, problems: string[]) {
  const bad =
    counts.looser + counts.silent + counts.wrongReason + counts.crashes + counts.dbMismatch;
  assert.equal(bad, 0, problems.join('\n'));
  assert.ok(counts.tokens >= 3000 || !LIVE, `only ${counts.tokens} tokens compared`);
}

describe(`verify-token against muvee's own code (${SOURCE})`, { timeout: 900_000 }, () => {
  let run: Run;
  const ready = prepare().then((r) => (run = r));
  const after: (() => void)[] = [];
  process.once('exit', () => after.forEach((f) => f()));
  void ready.then((r) => r.world && after.push(() => r.world!.stop()));

  test('the corpus: thousands of tokens, muvee accepts some and rejects many', async () => {
    await ready;
    const accepted = run.oracle.filter((v) => v.accepted).length;
    console.log(
      `differential tokens (${SOURCE}): ${run.tokens.length} tokens, muvee accepts ${accepted}, rejects ${run.tokens.length - accepted}`,
    );
    assert.ok(run.tokens.length >= 3000);
    assert.ok(accepted > 100 && accepted < run.tokens.length - 500);
  });

  test('--each, no database: 0 looser, 0 silent, 0 crashes, every line answered', async (t) => {
    await ready;
    const r = await runEach(run, tempDir(t), {});
    assert.equal(r.code, 5, r.stderr);
    const { counts, problems } = compare(run.tokens, run.oracle, r.verdicts, {
      db: false,
      skip: run.skip,
    });
    report(t, formatCounts('--each, no DB', counts));
    assertPromise(counts, problems);
  });

  test('--each, SQLite database holding the users: the same, and userInDb as muvee finds them', async (t) => {
    await ready;
    const dir = tempDir(t);
    const db = sqliteWorld(dir);
    const r = await runEach(run, dir, { MUVEE_DINGTALK_DB: db });
    assert.equal(r.code, 5, r.stderr);
    const { counts, problems } = compare(run.tokens, run.oracle, r.verdicts, {
      db: true,
      skip: run.skip,
    });
    report(t, formatCounts('--each, SQLite', counts));
    assertPromise(counts, problems);
  });

  test("--each, muvee's PostgreSQL: the same, and userInDb as muvee's middleware", async (t) => {
    await ready;
    if (!run.world) {
      const reason = pgUnavailable() ?? 'no muvee-oracle to migrate the database';
      return t.skip(`PostgreSQL comparison needs the live oracle: ${reason}`);
    }
    const r = await runEach(run, tempDir(t), { DATABASE_URL: run.world.url });
    assert.equal(r.code, 5, r.stderr);
    const { counts, problems } = compare(run.tokens, run.oracle, r.verdicts, {
      db: true,
      skip: run.skip,
    });
    report(t, formatCounts('--each, PostgreSQL', counts));
    assertPromise(counts, problems);
  });

  test('one token a run (--json, argument or stdin): the same verdict as --each, exit 0 or 5', async (t) => {
    await ready;
    const sample = run.tokens
      .map((token, i) => ({ token, i }))
      .filter(({ token }, n) => !token.label.startsWith('gen:') || n % 150 === 0);
    const dir = tempDir(t);
    const db = sqliteWorld(dir);
    const verdicts: (ToolVerdict | undefined)[] = new Array(run.tokens.length);
    let crashes = 0;
    const crashed: string[] = [];
    for (const [n, { token, i }] of sample.entries()) {
      // Every third one with the SQLite database; long tokens through stdin (argv has a limit).
      const viaStdin = token.token.length > 60_000 || n % 2 === 1;
      const r = await runBin(['verify-token', '--json', viaStdin ? '-' : token.token], {
        cwd: dir,
        env: baseEnv({ ...ENV, ...(n % 3 === 0 ? { MUVEE_DINGTALK_DB: db } : {}) }),
        input: viaStdin ? token.token : '',
      });
      if (r.code !== 0 && r.code !== 5) {
        crashes++;
        crashed.push(`${token.label}: exit ${r.code} ${r.stderr.slice(0, 300)}`);
        continue;
      }
      verdicts[i] = JSON.parse(r.stdout) as ToolVerdict;
      assert.equal(r.code, verdicts[i]!.valid ? 0 : 5);
    }
    const { counts, problems } = compare(run.tokens, run.oracle, verdicts, {
      db: false,
      skip: (i) => run.skip(i) || !sample.some((s) => s.i === i),
    });
    counts.skipped = 0;
    counts.crashes += crashes;
    report(t, formatCounts(`one token a run (${sample.length} of them)`, counts));
    assert.equal(crashes, 0, crashed.join('\n'));
    assertPromise({ ...counts, tokens: LIVE ? 3000 : counts.tokens }, problems);
  });

  test("jsonwebtoken's signature verdict equals the tool's own HS256 check, token by token", async (t) => {
    await ready;
    let compared = 0;
    const differ: string[] = [];
    for (const { label, token } of run.tokens) {
      const theirs = jsonwebtokenSignature(token, DIFF_SECRET);
      if (theirs === undefined) continue;
      compared++;
      if (theirs !== toolSignature(token, DIFF_SECRET)) differ.push(label);
    }
    report(
      t,
      `signature second opinion: jsonwebtoken reached the signature of ${compared} tokens, ${differ.length} verdicts differ`,
    );
    assert.ok(compared > 1000);
    assert.deepEqual(differ, []);
  });
});
