#!/usr/bin/env node
/**
 * Regenerates the recorded muvee outcomes in test/fixtures/differential/ with muvee-oracle
 * (MUVEE_ORACLE, or ../shared/muvee-oracle) on a throwaway PostgreSQL cluster, so the
 * differential suites still compare the tool with muvee where the oracle is absent.
 *
 *   node scripts/record-differential.mjs            every part
 *   node scripts/record-differential.mjs logins     the login scenarios only
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Each part: the module that records it (run from source with tsx). */
const PARTS = {
  logins: 'test/differential/record-logins.ts',
  tokens: 'test/differential/record-tokens.ts',
};

const asked = process.argv.slice(2);
for (const name of asked) {
  if (!(name in PARTS)) {
    console.error(`unknown part '${name}'; pick from ${Object.keys(PARTS).join(', ')}`);
    process.exit(2);
  }
}
for (const name of asked.length ? asked : Object.keys(PARTS)) {
  console.error(`recording ${name}…`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, PARTS[name])], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
