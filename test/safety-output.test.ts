/**
 * Untrusted text never reaches a terminal raw (issue "Safe in a terminal and in CI logs"):
 * DingTalk's profile and errors, stored rows, config values; odd profiles never crash a login.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseProfileResponse } from '../src/dingtalk/client.ts';
import type { CliError } from '../src/cli/errors.ts';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { BUILTIN_USERS } from '../src/emulator/users.ts';
import { hasControl, safe } from '../src/cli/sanitize.ts';
import { Store } from '../src/store/sqlite/store.ts';
import { json, loginAs, MINT_MEMBER, runCli, SECRET, tempDir } from './helpers.ts';

const ESC = '\u001b';
const EVIL = `${ESC}[2J${ESC}]0;pwned\u0007\u009b31m\u202eevil`;

test('safe() escapes control characters, C1, bidi overrides and newlines; keeps the rest', () => {
  assert.equal(safe(`a${ESC}[31mb`), 'a\\x1b[31mb');
  assert.equal(safe('x\ny\tz'), 'x\\x0ay\\x09z');
  assert.equal(safe('\u009b\u202e'), '\\x9b\\u202e');
  assert.equal(safe('张三 <a@b.example>'), '张三 <a@b.example>');
  assert.equal(hasControl(EVIL), true);
  assert.equal(hasControl('plain'), false);
});

test('a profile field muvee reads that is not a string fails the login as in muvee, not a crash', () => {
  const answer = (body: unknown) => ({
    status: 200,
    contentType: 'application/json',
    text: JSON.stringify(body),
  });
  // muvee's json.Unmarshal into its string fields fails: so does the login, with muvee's reason.
  assert.throws(
    () =>
      parseProfileResponse(
        answer({ nick: { toString: 1 }, unionId: 'U1', email: 'a@corp.example', mobile: 42 }),
      ),
    (error: CliError) =>
      error.code === 'dingtalk-bad-response' &&
      /cannot unmarshal object into Go struct field \.nick/.test(String(error.details?.muveeError)),
  );
  // A field muvee does not read is dropped from the display whatever it holds.
  const profile = parseProfileResponse(
    answer({ openId: { toString: 1 }, stateCode: 86, unionId: 'U1', email: 'a@corp.example' }),
  );
  assert.equal(profile.openId, undefined);
  assert.equal(profile.stateCode, undefined);
  assert.equal(profile.email, 'a@corp.example');
});

describe('a hostile profile, end to end', () => {
  let emu: Emulator;
  let dir: string;
  before(async () => {
    emu = await startEmulator({
      users: [
        ...BUILTIN_USERS,
        {
          id: 'evil',
          nick: EVIL,
          unionId: 'emuUnion-evil',
          openId: 'o',
          email: 'evil@corp.example',
          avatarUrl: `https://x/${ESC}[1A`,
        },
        {
          id: 'evilmail',
          nick: 'n',
          unionId: 'emuUnion-evilmail',
          openId: 'o',
          email: `a${ESC}[31m@corp.example`,
        },
        {
          id: 'object',
          nick: 'n',
          unionId: 'emuUnion-object',
          openId: 'o',
          email: 'object@corp.example',
        },
      ],
    });
    dir = tempDir();
  });
  after(() => emu.close());

  const login = (who: string, args: string[] = []) => loginAs(emu, who, { cwd: dir, args });

  test('escape sequences in the nick and avatar are shown escaped, never raw', async () => {
    const r = await login('evil');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(ESC) || !r.stdout.includes(`${ESC}[2J`), 'no raw clear-screen');
    assert.ok(!(r.stdout + r.stderr).includes(`${ESC}]0;pwned`));
    assert.ok(!(r.stdout + r.stderr).includes('\u202e'));
    assert.match(r.stdout, /\\x1b\[2J\\x1b\]0;pwned\\x07\\x9b31m\\u202eevil/);
    // Stored names replayed by users show stay escaped too.
    const show = await runCli(['users', 'show', 'evil@corp.example', '--db', r.db]);
    assert.equal(show.code, 0, show.stderr);
    assert.ok(!show.stdout.includes(`${ESC}[2J`));
    assert.match(show.stdout, /\\x1b\[2J/);
  });

  test('an email with control characters is refused before it is stored or signed', async () => {
    const r = await login('evilmail', ['--json']);
    assert.equal(r.code, 4);
    assert.match(json<{ error: { message: string } }>(r).error.message, /control characters/);
    assert.ok(!r.stderr.includes(`a${ESC}[31m`));
    assert.equal(Store.openExisting(r.db)?.list().length ?? 0, 0);
  });

  test("DingTalk's error text is sanitised in the one-line error", async () => {
    emu.setFault('userAccessToken', {
      status: 400,
      body: JSON.stringify({
        code: `bad${ESC}[31m`,
        message: `m${ESC}]0;x\u0007`,
        requestid: `r${ESC}[1A`,
      }),
      times: 1,
    });
    const r = await login('zhangsan');
    assert.equal(r.code, 3);
    assert.ok(!r.stderr.includes(ESC), JSON.stringify(r.stderr));
    assert.match(r.stderr, /bad\\x1b\[31m/);
  });
});

test('mint-token --ttl beyond ten years is a usage error, not a crash', async (t) => {
  const args = MINT_MEMBER;
  for (const ttl of ['9007199254740991', '3651d', '99999999999w']) {
    const r = await runCli([...args, '--ttl', ttl], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(t),
    });
    assert.equal(r.code, 2, `${ttl}: ${r.stderr}`);
    assert.match(r.stderr, /(longer than 3650d|invalid --ttl)/);
  }
  const r = await runCli([...args, '--ttl', '3650d'], {
    env: { JWT_SECRET: SECRET },
    cwd: tempDir(t),
  });
  assert.equal(r.code, 0, r.stderr);
});

test('check-config shows a hostile config value escaped', async (t) => {
  const r = await runCli(['check-config'], {
    env: { DINGTALK_CLIENT_ID: `ding${ESC}[2Jx`, BASE_DOMAIN: `corp${ESC}]0;t\u0007.example` },
    cwd: tempDir(t),
  });
  assert.ok(!r.stdout.includes(ESC + '[2J'));
  assert.ok(!r.stdout.includes(ESC + ']0;'));
});

describe('verify-token never dresses a forged token as a valid one', () => {
  const UID = '7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a';
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const forged = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ uid: `${UID}${ESC}[1A✓ valid`, email: 'a@b.example', role: 'admin', exp: 9999999999 })}.AAAA`;

  test('a forged token: claims marked unverified, escapes shown escaped, exit 5', async (t) => {
    const r = await runCli(['verify-token', forged], {
      env: { JWT_SECRET: SECRET },
      cwd: tempDir(t),
    });
    assert.equal(r.code, 5);
    assert.doesNotMatch(r.stdout, /^✓/m);
    assert.match(r.stdout, /NOT verified/);
    assert.match(r.stdout, /uid \(unverified\)/);
    assert.ok(!r.stdout.includes(ESC));
  });

  test('an unusable local DB does not change the verdict (0 valid, 5 forged); it is said', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'junk.db');
    (await import('node:fs')).writeFileSync(db, Buffer.alloc(4096, 0x5a));
    const minted = await runCli(
      ['mint-token', '--uid', UID, '--email', 'a@b.example', '--role', 'member'],
      {
        env: { JWT_SECRET: SECRET },
        cwd: dir,
      },
    );
    const valid = await runCli(['verify-token', '--json', minted.stdout.trim(), '--db', db], {
      env: { JWT_SECRET: SECRET },
      cwd: dir,
    });
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(json<{ dbProblem: string }>(valid).dbProblem, /junk\.db/);
    const bad = await runCli(['verify-token', '--json', forged, '--db', db], {
      env: { JWT_SECRET: SECRET },
      cwd: dir,
    });
    assert.equal(bad.code, 5);
  });
});
