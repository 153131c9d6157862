/**
 * Issue 22 item 5: an install of this repository says what it builds. npm runs dependencies'
 * install scripts (better-sqlite3's native build: minutes where SQLite is compiled) in the
 * background and prints nothing meanwhile; the repository's `.npmrc` asks for them in the
 * foreground. Checked as npm itself reads its configuration here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ROOT } from './helpers.ts';

const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const skip = npm.status === 0 ? undefined : 'npm is not on PATH';
if (skip) console.warn(`\n!!!!! install configuration test SKIPPED: ${skip} !!!!!\n`);

test(
  "npm ci in this repository runs install scripts in the foreground (npm's own reading)",
  { skip },
  () => {
    const r = spawnSync('npm', ['config', 'get', 'foreground-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'true', `npm ${npm.stdout.trim()} reads foreground-scripts as`);
  },
);
