/**
 * Records muvee's outcome of every login scenario (muvee-oracle on a throwaway PostgreSQL) into
 * test/fixtures/differential/logins.json, so the differential suite still checks the tool
 * against muvee where muvee-oracle is absent. Run through scripts/record-differential.mjs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.ts';
import { oracleUnavailable } from '../oracle/oracle.ts';
import { startCluster } from '../pg/cluster.ts';
import { startFakeDingTalk } from './fake-dingtalk.ts';
import { runOracleSide, scenarioHash, type Side } from './login-harness.ts';
import { SCENARIOS } from './login-scenarios.ts';

export const LOGINS_FIXTURE = join(ROOT, 'test/fixtures/differential/logins.json');

export interface LoginsFixture {
  about: string;
  scenarios: Record<string, { hash: string; title: string; muvee: Side }>;
}

async function main(): Promise<void> {
  const why = oracleUnavailable();
  if (why) throw new Error(`cannot record: ${why}`);
  const cluster = await startCluster();
  const fake = await startFakeDingTalk();
  try {
    const fixture: LoginsFixture = {
      about:
        "muvee's outcome of each login scenario of test/differential/login-scenarios.ts, from muvee-oracle (muvee's own Go code, hoveychen/muvee 522cd80) on PostgreSQL with muvee's 50 migrations. Regenerate: node scripts/record-differential.mjs logins",
      scenarios: {},
    };
    for (const scenario of SCENARIOS) {
      const muvee = await runOracleSide(cluster, fake, scenario);
      fixture.scenarios[scenario.id] = {
        hash: scenarioHash(scenario),
        title: scenario.title,
        muvee,
      };
      process.stderr.write(`${scenario.id}: ${muvee.outcome}\n`);
    }
    writeFileSync(LOGINS_FIXTURE, `${JSON.stringify(fixture, null, 2)}\n`);
    process.stderr.write(`wrote ${SCENARIOS.length} scenarios to ${LOGINS_FIXTURE}\n`);
  } finally {
    await fake.close();
    cluster.stop();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
