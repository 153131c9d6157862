/**
 * The build is a no-op when dist/ is current. npm runs `prepare` again on a checkout's first
 * `npx muvee-dingtalk` (it installs the checkout into its npx cache); a rebuild there emptied
 * dist/ under commands already running from it (a CI run lost `dist/program.cjs` mid-suite).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.ts';

const build = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });

test('after npm test built dist/, building again leaves every file where it is', () => {
  // --check never builds: if it says "out of date", nothing below runs (no rebuild mid-suite).
  const check = build('--check');
  assert.equal(check.status, 0, `dist/ should be current after pretest: ${check.stderr}`);
  const file = join(ROOT, 'dist', 'program.cjs');
  const before = statSync(file);
  const again = build();
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /dist\/ is up to date/);
  const after = statSync(file);
  assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs]);
});
