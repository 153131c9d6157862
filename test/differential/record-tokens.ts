/**
 * Records muvee-oracle's verdicts on the differential token corpus into
 * test/fixtures/differential/tokens.jsonl, so test/differential-tokens.test.ts compares
 * verify-token with muvee's code where the oracle is absent (the live run is preferred and
 * used whenever the oracle is there). Run after changing the corpus generator or the oracle:
 *
 *   node scripts/record-differential.mjs tokens   (needs muvee-oracle and PostgreSQL; see test/oracle)
 *
 * The file holds a meta line (seed, count, when), then per token its label, a hash of it and
 * muvee's verdict; generated tokens are made again from the seed, muvee's minted ones are kept.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  corpus,
  COUNT,
  FIXTURE,
  mintLines,
  SEED,
  shaOf,
  slimVerdict,
  type FixtureEntry,
  type FixtureMeta,
} from './compare-tokens.ts';
import { startOracleWorld } from './world.ts';
import { oracleUnavailable } from '../oracle/oracle.ts';

const why = oracleUnavailable();
if (why) {
  console.error(`record-differential: cannot record: ${why}`);
  process.exit(2);
}
const world = await startOracleWorld();
try {
  const generated = corpus();
  const minted = await world.mint(mintLines());
  const verdicts = await world.judge([...generated.map((t) => t.token), ...minted]);
  const meta: FixtureMeta = {
    kind: 'meta',
    seed: SEED,
    count: COUNT,
    recordedAt: Math.floor(Date.now() / 1000),
    oracle: 'muvee-oracle (hoveychen/muvee 522cd80, golang-jwt v5.3.1, Go 1.23)',
  };
  const entries: FixtureEntry[] = [
    ...generated.map((t, i) => ({
      label: t.label,
      sha: shaOf(t.token),
      oracle: slimVerdict(verdicts[i]!),
    })),
    ...minted.map((token, i) => ({
      label: `minted:${mintLines()[i]}`,
      sha: shaOf(token),
      token,
      oracle: slimVerdict(verdicts[generated.length + i]!),
    })),
  ];
  mkdirSync(dirname(FIXTURE), { recursive: true });
  writeFileSync(FIXTURE, [meta, ...entries].map((e) => JSON.stringify(e)).join('\n') + '\n');
  const accepted = entries.filter((e) => e.oracle.accepted).length;
  console.log(
    `record-differential: ${entries.length} verdicts (${accepted} accepted) in ${FIXTURE}`,
  );
} finally {
  world.stop();
}
