#!/usr/bin/env node
// The regression check: two builds side by side, interleaved run by run (node -e 0, old,
// node -e 0, new), medians of the ratios to node -e 0.
//   node bench/compare.mjs <old bin> <new bin> [node binary] [runs]
// e.g. git worktree add /tmp/base <rev> && ln -s $PWD/node_modules /tmp/base/ &&
//      (cd /tmp/base && node scripts/build.mjs) &&
//      node bench/compare.mjs /tmp/base/bin/muvee-dingtalk.js bin/muvee-dingtalk.js
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
const [oldBin, newBin, node = process.execPath, runsText = '21'] = process.argv.slice(2);
if (!oldBin || !newBin)
  throw new Error('usage: node bench/compare.mjs <old bin> <new bin> [node] [runs]');
const runs = Number(runsText);
const cwd = mkdtempSync(join(tmpdir(), 'cmp-'));
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  JWT_SECRET: 'bench-jwt-secret-0123456789abcdef0123456789',
  DINGTALK_CLIENT_ID: 'dingabcdefghij123456',
  DINGTALK_CLIENT_SECRET: 'c'.repeat(64),
  DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback',
  BASE_DOMAIN: 'corp.example',
};
const token = spawnSync(
  node,
  [
    newBin,
    'mint-token',
    '--uid',
    '11111111-1111-4111-8111-111111111111',
    '--email',
    'a@corp.example',
    '--role',
    'member',
  ],
  { env, cwd, encoding: 'utf8' },
).stdout.trim();
const cmds = {
  '--help': ['--help'],
  'check-config': ['check-config'],
  'verify-token (no DB)': ['verify-token', token],
  'login --emulator --no-store': [
    'login',
    '--emulator',
    '--auto-approve',
    '--no-browser',
    '--json',
    '--no-store',
  ],
};
const bins = { old: resolve(oldBin), new: resolve(newBin) };
const t = (args) => {
  const s = process.hrtime.bigint();
  spawnSync(node, args, { cwd, env, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - s) / 1e6;
};
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};
for (const [name, args] of Object.entries(cmds)) {
  const r = { old: [], new: [] };
  for (let i = 0; i < runs + 3; i++)
    for (const [k, bin] of Object.entries(bins)) {
      const b = t(['-e', '0']);
      const x = t(['--', bin, ...args]);
      if (i >= 3) r[k].push(x / b);
    }
  console.log(
    `${name.padEnd(30)} old ${med(r.old).toFixed(2)}×  new ${med(r.new).toFixed(2)}×  diff ${(med(r.new) - med(r.old)).toFixed(2)}`,
  );
}
