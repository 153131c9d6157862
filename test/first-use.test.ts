/**
 * Issue 22, "first use without traps": what a newcomer meets in their first minutes, tried as
 * they would (the CLI in-process on an empty folder, the emulator on loopback).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CliError } from '../src/cli/errors.ts';
import { startEmulator } from '../src/emulator/server.ts';
import { nativeAddonError, reportError } from '../src/program.ts';
import { Output } from '../src/cli/output.ts';
import { http, json, runCli, SECRET, tempDir } from './helpers.ts';

const PG = 'postgres://muvee:hunter2@127.0.0.1:1/muvee';

test('which database a run uses is printed, human and JSON', async (t) => {
  const dir = tempDir(t);
  const login = await runCli(['login', '--emulator', '--json'], { cwd: dir, env: { CI: 'true' } });
  assert.equal(login.code, 0, login.stderr);
  assert.match(
    login.stderr,
    /^database: \.\/muvee-dingtalk-emulator\.db \(login --emulator's own file/m,
  );
  assert.equal(json<{ database: string }>(login).database, './muvee-dingtalk-emulator.db');
  const noStore = await runCli(['login', '--emulator', '--no-store', '--json'], {
    cwd: dir,
    env: { CI: 'true' },
  });
  assert.equal(json<{ database: null }>(noStore).database, null);
  const list = await runCli(['users', 'list', '--db', join(dir, 'x.db')], { cwd: dir });
  assert.match(list.stderr, /database: .*x\.db \(--db\)/);
});

test('MUVEE_DINGTALK_DB from .env over DATABASE_URL is said loudly; .env.example sets neither', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, '.env'), 'MUVEE_DINGTALK_DB=./muvee-dingtalk.db\n');
  const r = await runCli(['users', 'list'], { cwd: dir, env: { DATABASE_URL: PG } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /⚠ MUVEE_DINGTALK_DB \.\/muvee-dingtalk\.db \(from \.\/\.env\) overrides DATABASE_URL postgres:\/\/muvee:\*\*\*@127\.0\.0\.1:1\/muvee \(from the environment\): this run uses \.\/muvee-dingtalk\.db, not muvee's database/,
  );
  assert.ok(!r.stderr.includes('hunter2'));
  const { readFileSync } = await import('node:fs');
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  assert.doesNotMatch(
    example,
    /^MUVEE_DINGTALK_DB=/m,
    'copying .env.example must not hide DATABASE_URL',
  );
  assert.doesNotMatch(example, /^DATABASE_URL=/m);
});

test("--db '' (an unset variable) is a usage error, never the local file", async (t) => {
  const dir = tempDir(t);
  for (const args of [
    ['--db', '', 'users', 'list'],
    ['login', '--emulator', '--db', ' '],
    ['--json', 'mint-token', '--email', 'a@b.example', '--db', ''],
  ]) {
    const r = await runCli(args, { cwd: dir, env: { JWT_SECRET: SECRET, CI: 'true' } });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr + r.stdout, /--db '' is empty/);
  }
});

test('after login --emulator, users list, mint-token and verify-token find its user', async (t) => {
  const dir = tempDir(t);
  const env = { CI: 'true', JWT_SECRET: SECRET };
  assert.equal((await runCli(['login', '--emulator'], { cwd: dir, env })).code, 0);
  const list = await runCli(['users', 'list'], { cwd: dir, env });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /zhangsan@corp\.example/);
  assert.match(
    list.stderr,
    /database: \.\/muvee-dingtalk-emulator\.db \(login --emulator's demo users; \.\/muvee-dingtalk\.db does not exist yet\)/,
  );
  const mint = await runCli(['mint-token', '--email', 'zhangsan@corp.example'], { cwd: dir, env });
  assert.equal(mint.code, 0, mint.stderr);
  const verify = await runCli(['--json', 'verify-token', '-'], {
    cwd: dir,
    env,
    input: mint.stdout,
  });
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(json<{ userInDb: boolean }>(verify).userInDb, true);
  // Once ./muvee-dingtalk.db exists (or a store is named), the demo file is never read.
  writeFileSync(join(dir, '.env'), `MUVEE_DINGTALK_DB=${join(dir, 'team.db')}\n`);
  const named = await runCli(['users', 'list'], { cwd: dir, env });
  assert.doesNotMatch(named.stdout, /zhangsan/);
});

test('login --json: the emulator caveat is in warnings', async (t) => {
  const dir = tempDir(t);
  const r = await runCli(['login', '--emulator', '--json'], { cwd: dir, env: { CI: 'true' } });
  const { warnings } = json<{ warnings: string[] }>(r);
  assert.ok(
    warnings.some((w) => /emulator run.*muvee will not accept it/.test(w)),
    warnings.join('\n'),
  );
});

test('emulator --json includes the demo secret, never a real one', async (t) => {
  const { startCli } = await import('./helpers.ts');
  const dir = tempDir(t);
  for (const [env, expected] of [
    [{}, 'emulator-demo-secret-not-for-production-use-000000'],
    [{ DINGTALK_CLIENT_ID: 'dingrealapp', DINGTALK_CLIENT_SECRET: 'real-secret-1234' }, null],
  ] as const) {
    const run = startCli(['--json', 'emulator'], { cwd: dir, env });
    for (let i = 0; i < 500 && !run.stdoutText().endsWith('}\n'); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    run.kill('SIGINT');
    await run.done;
    const parsed = JSON.parse(run.stdoutText()) as { clientSecret: unknown };
    assert.equal(parsed.clientSecret, expected);
    assert.ok(!JSON.stringify(parsed).includes('real-secret-1234'));
  }
});

test('inconsistent checks made consistent (directory, invite, --apply, --use-jwt-secret, verify)', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'adir'));
  const cases: [string[], number, RegExp][] = [
    [['users', 'list', '--db', join(dir, 'adir')], 2, /is a directory, not a SQLite file/],
    [['admin', 'invite', 'notanemail'], 2, /'notanemail' is not an email address/],
    [['admin', 'invite', 'a@corp.example', '--apply'], 2, /--apply is for muvee's PostgreSQL/],
    [['admin', 'access-mode', 'invite', '--apply'], 2, /--apply is for muvee's PostgreSQL/],
    [['login', '--use-jwt-secret'], 2, /--use-jwt-secret is for --emulator runs/],
    [['verify', 'x'], 2, /unknown command 'verify' \(did you mean verify-token\?\)/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(args, { cwd: dir, env: { JWT_SECRET: SECRET } });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  const { existsSync } = await import('node:fs');
  assert.ok(!existsSync(join(dir, 'muvee-dingtalk.db')), 'a refused admin run creates no file');
});

test('a corrupt SQLite file stops login before the browser and DingTalk', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'muvee-dingtalk-emulator.db'), 'this is not a database '.repeat(20));
  const emu = await startEmulator();
  t.after(() => emu.close());
  const r = await runCli(['login', '--emulator'], { cwd: dir, env: { CI: 'true' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /is not a SQLite database this tool can read/);
  assert.doesNotMatch(r.stderr, /Sign in with DingTalk/, 'failed before the authorize URL');
});

test('a SQLite driver built for another Node: one line with the fix', () => {
  const text =
    "The module '/x/node_modules/better-sqlite3-node20/build/Release/better_sqlite3.node'\n" +
    'was compiled against a different Node.js version using\nNODE_MODULE_VERSION 127. This version of Node.js requires\n' +
    'NODE_MODULE_VERSION 115. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).';
  for (const error of [new Error(text), new CliError('db-error', `database 'x' failed: ${text}`)]) {
    const native = nativeAddonError(error, { version: '20.20.2', abi: '115' });
    assert.ok(native);
    assert.equal(native.exitCode, 2);
    assert.match(
      native.message,
      /better-sqlite3-node20\) was built for Node 22, and this is Node 20\.20\.2; rebuild it under this Node: `npm rebuild better-sqlite3-node20`/,
    );
    let stderr = '';
    const out = new Output({
      json: false,
      color: false,
      env: {},
      stdout: { write: () => {}, isTTY: false },
      stderr: { write: (s) => void (stderr += s), isTTY: false },
    });
    assert.equal(reportError(error, out, {}), 2);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.doesNotMatch(stderr, /\\x0a|NODE_MODULE_VERSION/);
  }
  assert.equal(nativeAddonError(new Error('disk I/O error')), undefined);
});

test('^C: the ✗ line starts on a line of its own on a terminal', () => {
  let stderr = '';
  const out = new Output({
    json: false,
    color: false,
    env: {},
    stdout: { write: () => {}, isTTY: true },
    stderr: { write: (s) => void (stderr += s), isTTY: true },
  });
  assert.equal(reportError(new CliError('interrupted', 'login cancelled (Ctrl-C)'), out, {}), 130);
  assert.equal(stderr, '\n✗ login cancelled (Ctrl-C)\n');
});

test('PUT /__emulator/faults: latency and html work, unknown parts are refused', async (t) => {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const put = (body: unknown) =>
    http(`${emu.url}/__emulator/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  assert.equal((await put({ accessToken: { latency: 300 } })).status, 200);
  let started = Date.now();
  await http(`${emu.url}/v1.0/oauth2/accessToken`, { method: 'POST', body: '{}' });
  assert.ok(Date.now() - started >= 290, 'latency applied');
  assert.equal((await put({ accessToken: 'html' })).status, 200);
  const html = await http(`${emu.url}/v1.0/oauth2/accessToken`, { method: 'POST', body: '{}' });
  assert.match(String(html.headers['content-type']), /text\/html/);
  assert.match(html.body, /Bad Gateway/);
  assert.equal((await put({ usersMe: { html: true, status: 502 } })).status, 200);
  assert.equal((await put({ usersMe: { latencyy: 5 } })).status, 400);
  assert.equal((await put({ usersMe: 'bogus' })).status, 400);
  started = Date.now();
  assert.equal((await put({ accessToken: null })).status, 200);
  const ok = await http(`${emu.url}/v1.0/oauth2/accessToken`, { method: 'POST', body: '{}' });
  assert.notEqual(ok.status, 200, 'no fault left: the emulator judges the (empty) request');
});
