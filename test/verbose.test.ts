/**
 * `--verbose`: each DingTalk request and answer on stderr, with every secret, code and token
 * redacted, the mobile masked and control characters escaped (issue 12, finding 14).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { showBody } from '../src/dingtalk/trace.ts';
import { startEmulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import { emulatorLoginEnv, json, loginAs, runCli, SECRET, tempDir } from './helpers.ts';

describe('--verbose', () => {
  test('login: each call and answer on stderr, nothing secret, the JSON untouched', async (t) => {
    const emulator = await startEmulator({ recordTokens: true });
    t.after(() => emulator.close());
    const r = await loginAs(emulator, 'zhangsan', {
      cwd: tempDir(t),
      args: ['--verbose', '--json'],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<{ email: string }>(r).email, 'zhangsan@corp.example');
    const lines = r.stderr.split('\n');
    for (const expected of [
      /^> POST http:\/\/127\.0\.0\.1:\d+\/v1\.0\/oauth2\/userAccessToken$/,
      /^> \{"clientId":"dingemulatordemoapp1","clientSecret":"<redacted: \d+ chars>","code":"<redacted: 32 chars>","grantType":"authorization_code"\}$/,
      /^< 200 \(application\/json.*\), \d+ bytes, \d+ ms$/,
      /^< \{"accessToken":"<redacted: \d+ chars>","refreshToken":"<redacted: \d+ chars>","expireIn":7200\}$/,
      /^> GET http:\/\/127\.0\.0\.1:\d+\/v1\.0\/contact\/users\/me$/,
      /^> x-acs-dingtalk-access-token: <redacted: \d+ chars>$/,
      /^< \{"nick":"张三".*"mobile":"138\*\*\*\*0000".*\}$/,
    ]) {
      assert.ok(
        lines.some((line) => expected.test(line)),
        `${expected}\n${r.stderr}`,
      );
    }
    const everything = r.stdout + r.stderr;
    for (const secret of [EMULATOR_CLIENT_SECRET, SECRET, ...emulator.issuedTokens, '13800000000'])
      assert.ok(!everything.includes(secret), `leaked: ${secret.slice(0, 8)}…`);
  });

  test('without --verbose: no request lines', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    const r = await loginAs(emulator, 'zhangsan', { cwd: tempDir(t), args: ['--json'] });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /^[<>] /m);
  });

  test("check-config --live: the app-token call, DingTalk's refusal shown, the secret not", async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    const { env } = await emulatorLoginEnv(emulator, {
      clientId: EMULATOR_CLIENT_ID,
      clientSecret: `${EMULATOR_CLIENT_SECRET}-WRONG`,
      jwtSecret: SECRET,
      db: ':memory:',
    });
    const r = await runCli(['check-config', '--live', '--verbose'], { env, cwd: tempDir(t) });
    assert.equal(r.code, 7);
    assert.match(r.stderr, /^> POST http:\/\/127\.0\.0\.1:\d+\/v1\.0\/oauth2\/accessToken$/m);
    assert.match(r.stderr, /"appSecret":"<redacted: \d+ chars>"/);
    assert.match(r.stderr, /^< 400 .*\n< \{.*"code":"invalidClientIdOrSecret"/m);
    assert.ok(!(r.stdout + r.stderr).includes(EMULATOR_CLIENT_SECRET));
  });

  test('check-config --verbose without --live says there is nothing to show', async (t) => {
    const r = await runCli(['check-config', '--verbose'], { cwd: tempDir(t) });
    assert.match(r.stderr, /without --live there are none/);
  });
});

describe('showBody', () => {
  test('a page that echoes the secret (a proxy) has it cut out; escapes shown escaped', () => {
    const secret = 'S3CRET-0123456789abcdef';
    const shown = showBody(`<html>bad request: clientSecret=${secret}\x1b[2J</html>`, [secret]);
    assert.ok(!shown.includes(secret));
    assert.match(shown, /clientSecret=<redacted: 23 chars>\\x1b\[2J/);
  });

  test('JSON: credential fields at any depth, the mobile masked; long text cut', () => {
    const shown = showBody(
      JSON.stringify({
        a: { accessToken: 'x'.repeat(40), list: [{ refresh_token: 'abc' }] },
        mobile: '13812345678',
      }),
      [],
    );
    assert.equal(
      shown,
      '{"a":{"accessToken":"<redacted: 40 chars>","list":[{"refresh_token":"<redacted: 3 chars>"}]},"mobile":"138****5678"}',
    );
    assert.match(showBody('y'.repeat(5000), []), /… \(5000 chars\)$/);
    assert.equal(showBody('', []), '(empty body)');
  });
});
