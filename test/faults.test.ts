/**
 * A misbehaving DingTalk: every fault of the emulator on each API endpoint gives its
 * documented exit code and message, writes nothing, and prints no secret.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { parseFaultSpec } from '../src/emulator/faults.ts';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import {
  AUTHORIZE_URL,
  decide,
  json,
  runCli,
  startCli,
  tempDir,
  emulatorLoginEnv,
} from './helpers.ts';

const CLIENT_ID = 'dingfaultsapp0000001';
const CLIENT_SECRET =
  'CLIENT-SECRET-faults-7f3a9c1e5b2d4f6a8c0e1a3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f';
const JWT_SECRET = 'JWT-SECRET-faults-0123456789abcdef0123456789abcdef';

// [spec, exit code, message pattern]; endpoint-specific body faults are added below.
const COMMON: [string, number, RegExp][] = [
  ['400', 3, /DingTalk refused .*InvalidParameter/],
  ['403', 3, /Forbidden\.AccessDenied\.QpsLimitForAppkeyAndApi.*throttling/],
  ['429', 3, /Throttling\.User/],
  ['500', 4, /HTTP 500 \(InternalError\)/],
  ['503', 4, /HTTP 503 \(ServiceUnavailable\)/],
  ['200,html', 4, /HTML page.*not its JSON API/],
  ['502,html', 4, /HTTP 502/],
  ['403,html', 3, /HTTP 403 and an HTML page.*blocks an IP/],
  ['200,truncated', 4, /not JSON/],
  ['200,empty', 4, /empty body/],
  ['latency:2500', 4, /no answer within 1 s/],
  ['reset', 4, /connection closed before an answer|could not reach DingTalk/],
];

describe('DingTalk faults', { concurrency: 4 }, () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });

  const secretsIn = (text: string, emu: Emulator) =>
    [CLIENT_SECRET, JWT_SECRET, ...emu.issuedTokens].filter((secret) => text.includes(secret));

  const cases: [string, string, number, RegExp][] = [
    ...COMMON.map(
      ([spec, exit, message]) =>
        ['userAccessToken', spec, exit, message] as [string, string, number, RegExp],
    ),
    ['userAccessToken', 'no-token', 4, /has no accessToken/],
    ...COMMON.map(
      ([spec, exit, message]) =>
        ['usersMe', spec, exit, message] as [string, string, number, RegExp],
    ),
    ['usersMe', 'no-unionid', 4, /has no unionId/],
  ];

  for (const [endpoint, spec, exit, message] of cases) {
    test(`login, ${endpoint}=${spec}: exit ${exit}`, async () => {
      // An emulator per case, so cases can run side by side.
      const emu = await startEmulator({
        clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [] }],
        faults: Object.fromEntries([parseFaultSpec(`${endpoint}=${spec}`)]),
        recordTokens: true,
      });
      try {
        const db = join(dir, `${endpoint}-${spec.replace(/\W/g, '_')}.db`);
        const { env } = await emulatorLoginEnv(emu, {
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          jwtSecret: JWT_SECRET,
          db,
        });
        const child = startCli(['login', '--no-browser', '--json', '--http-timeout', '1'], {
          env: { ...env, DEBUG: 'muvee-dingtalk' },
          cwd: dir,
        });
        const [, url] = await child.waitForStderr(AUTHORIZE_URL);
        await decide(url!, 'approve');
        const result = await child.done;
        assert.equal(result.code, exit, result.stderr);
        const { error } = json<{ error: { code: string; message: string } }>(result);
        assert.match(error.message, message);
        assert.equal(existsSync(db), false, 'nothing written');
        assert.deepEqual(secretsIn(result.stdout + result.stderr, emu), [], 'a secret was printed');
      } finally {
        await emu.close();
      }
    });
  }

  for (const [spec, , message] of COMMON) {
    test(`check-config --live, accessToken=${spec}: exit 7 with the reason`, async () => {
      const [, fault] = parseFaultSpec(`accessToken=${spec}`);
      const live = startEmulator({
        clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [] }],
        faults: { accessToken: fault },
        recordTokens: true,
      });
      const server = await live;
      try {
        const result = await runCli(['check-config', '--live', '--json', '--http-timeout', '1'], {
          env: {
            DINGTALK_API_BASE: server.url,
            DINGTALK_CLIENT_ID: CLIENT_ID,
            DINGTALK_CLIENT_SECRET: CLIENT_SECRET,
            JWT_SECRET,
          },
          cwd: dir,
        });
        assert.equal(result.code, 7);
        const check = json<{ checks: { id: string; status: string; message: string }[] }>(
          result,
        ).checks.find((c) => c.id === 'live');
        assert.equal(check?.status, 'fail');
        assert.match(check?.message ?? '', message);
        assert.deepEqual(
          secretsIn(result.stdout + result.stderr, server),
          [],
          'a secret was printed',
        );
      } finally {
        await server.close();
      }
    });
  }
});

test('the DB of a failed login is untouched when it already existed', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'muvee-dingtalk.db');
  const ok = await runCli(['login', '--emulator', '--auto-approve', '--json', '--db', db], {
    cwd: dir,
    env: { JWT_SECRET },
  });
  assert.equal(ok.code, 0);
  const before = readFileSync(db);
  const denied = await runCli(
    ['login', '--emulator', '--auto-approve', 'wangwu', '--json', '--db', db],
    {
      cwd: dir,
      env: { JWT_SECRET, ALLOWED_DOMAINS: 'corp.example' },
    },
  );
  assert.equal(denied.code, 6);
  assert.ok(readFileSync(join(dir, 'muvee-dingtalk.db')).equals(before));
});
