/**
 * Issue 20, M3/L3/L4/L7 (and issue 18's "sanitising by construction"): hostile text from every
 * source (a DingTalk profile, a stored row of a planted database, token claims, configuration
 * values, the emulator's own flags and users file, an error message under DEBUG) through every
 * output path (text on stdout and stderr, `--json` documents and lines), generated from a seed:
 * no terminal control (C0 but newline and tab, DEL, C1), no bidirectional control, no LS/PS and
 * no invisible character ever comes out raw. JSON output follows the one JSON rule: those
 * characters are `\uXXXX` escapes, and the document still parses to the original text.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { startEmulator } from '../src/emulator/server.ts';
import { Database } from '../src/store/sqlite/binding.ts';
import { loginAs, prng, runCli, SECRET, startCli, tempDir, type RunResult } from './helpers.ts';

/** What must never reach a terminal raw (newline and tab are allowed: the program's own). */
// eslint-disable-next-line no-control-regex
const DANGER =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/u;

const NASTY = [
  '\x1b]0;pwned\x07',
  '\x1b[2J',
  '\x1b[31m',
  '\r',
  '\x08',
  '\x07',
  '\x7f',
  '\u009b31m',
  '\u0085',
  '\u202e',
  '\u2066',
  '\u2028',
  '\u2029',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u00ad',
  '\u061c',
  '\u2060',
  '\n',
  '\t',
];

/** A hostile string from the seed: letters and the nasty pieces mixed. */
function hostile(random: () => number, prefix: string): string {
  let s = prefix;
  for (let i = 0; i < 6; i++) {
    s += NASTY[Math.floor(random() * NASTY.length)]!;
    s += 'abcxyz'[Math.floor(random() * 6)]!;
  }
  return s;
}

function assertClean(where: string, r: RunResult): void {
  for (const [stream, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const) {
    const match = DANGER.exec(text);
    assert.ok(
      !match,
      `${where}: ${stream} holds U+${match?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} raw at ${match?.index}:\n${JSON.stringify(text.slice(Math.max(0, (match?.index ?? 0) - 80), (match?.index ?? 0) + 40))}`,
    );
  }
}

const SEEDS = [1, 2, 3];

describe('every output path, fed hostile text (issue 20 M3, L3, L4, L7)', () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}: login, users, admin, mint-token, verify-token, check-config, errors`, async (t) => {
      const random = prng(seed);
      const dir = tempDir(t);
      const db = join(dir, 'team.db');
      const h = (label: string) => hostile(random, label);
      // 1. A DingTalk profile whose every text field is hostile (the email is refused if it holds
      //    controls, so it holds an invisible character: the L4 case).
      const emulator = await startEmulator({
        users: [
          {
            id: 'evil',
            nick: h('nick'),
            unionId: `u${seed}`,
            openId: h('open'),
            email: `e\u200bvil${seed}@corp.example`,
            mobile: h('138'),
            avatarUrl: h('https://a/'),
            stateCode: h('86'),
          },
        ],
      });
      t.after(() => emulator.close());
      for (const args of [[], ['--json']]) {
        const r = await loginAs(emulator, 'evil', { cwd: dir, db, args });
        assert.equal(r.code, 0, r.stderr);
        assertClean(`login ${args.join(' ')}`, r);
        if (args.length === 0)
          assert.match(r.stderr, /invisible/, 'an email with an invisible character is warned');
      }
      const cli = (args: string[], env: Record<string, string> = {}) =>
        runCli([...args, '--db', db], { env: { JWT_SECRET: SECRET, ...env }, cwd: dir });

      // 2. admin override with hostile values (both outputs), then a planted row.
      const email = `e\u200bvil${seed}@corp.example`;
      for (const json of [[], ['--json']]) {
        const r = await cli([
          'admin',
          'override',
          email,
          '--name',
          h('name'),
          '--avatar',
          h('av'),
          ...json,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assertClean('admin override', r);
      }
      const file = new Database(db);
      const planted = h('planted@');
      file
        .prepare('UPDATE users SET name = ?, avatar_url = ?, created_at = ?')
        .run(h('pname'), h('pav'), h('2026-'));
      file.prepare('UPDATE users SET email = ?').run(planted);
      file
        .prepare('INSERT INTO invitations (id, email, created_at) VALUES (?, ?, ?)')
        .run('11111111-1111-4111-8111-111111111111', h('inv@'), h('2026-'));
      file.prepare('UPDATE platform_members SET authorized = 0').run();
      file.close();

      // 3. Every reader and writer over the planted file, text and JSON.
      for (const args of [
        ['users', 'list'],
        ['users', 'show', planted],
        ['admin', 'invitations'],
        ['admin', 'approve', planted],
        ['admin', 'override', planted, '--name', h('n2')],
        ['mint-token', '--email', planted],
        ['users', 'export', '--sql'],
      ]) {
        for (const json of args[1] === 'export' ? [[]] : [[], ['--json']]) {
          const r = await cli([...args, ...json]);
          assert.ok(r.code === 0, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
          assertClean(`${args.join(' ')} ${json.join(' ')}`, r);
          if (json.length) JSON.parse(r.stdout);
        }
      }

      // 4. Token claims: a valid token and a forged one, every verify-token form.
      const claims = { uid: h('uid'), email: h('mail'), role: h('role'), [h('k')]: h('v') };
      const valid = jwt.sign(claims, SECRET, { expiresIn: '1h' });
      const forged = jwt.sign(claims, 'another-secret-0123456789abcdef01234', { expiresIn: '1h' });
      for (const token of [valid, forged]) {
        for (const extra of [[], ['--json'], ['--decode'], ['--decode', '--json']]) {
          const r = await cli(['verify-token', token, ...extra]);
          assertClean(`verify-token ${extra.join(' ')}`, r);
        }
      }
      const each = await runCli(['verify-token', '--each', '-', '--db', db], {
        env: { JWT_SECRET: SECRET },
        cwd: dir,
        input: `${valid}\n${forged}\n${h('garbage')}\n`,
      });
      assertClean('verify-token --each', each);

      // 5. Configuration values, the "no database at" note, DEBUG traces.
      const env = {
        DINGTALK_CLIENT_ID: h('ding'),
        DINGTALK_CLIENT_SECRET: h('secret'),
        DINGTALK_REDIRECT_URL: h('http://localhost/'),
        ALLOWED_DOMAINS: h('corp'),
        ADMIN_EMAILS: h('a@'),
        BASE_DOMAIN: h('muvee'),
        DEBUG: 'muvee-dingtalk',
      };
      for (const args of [
        ['check-config'],
        ['check-config', '--json'],
        ['check-config', '--strict'],
      ]) {
        const r = await runCli(args, { env, cwd: dir });
        assertClean(args.join(' '), r);
      }
      for (const args of [
        ['users', 'list', '--db', join(dir, h('nodb'))],
        ['users', 'show', h('who'), '--db', db],
        ['mint-token', '--email', h('x@'), '--db', db],
        ['login', '--db', db],
      ]) {
        const r = await runCli(args, { env, cwd: dir });
        assertClean(`${args.join(' ')} (DEBUG)`, r);
      }
    });
  }

  test('the emulator banner: hostile --client-id, --redirect-uri and users file', async (t) => {
    const random = prng(99);
    const dir = tempDir(t);
    const users = join(dir, 'users.json');
    writeFileSync(
      users,
      JSON.stringify([
        {
          id: hostile(random, 'id'),
          nick: hostile(random, 'n'),
          unionId: 'U1',
          email: 'a@b.example',
        },
      ]),
    );
    for (const json of [[], ['--json']]) {
      const run = startCli(
        [
          'emulator',
          '--port',
          '0',
          '--users',
          users,
          '--client-id',
          hostile(random, 'cid'),
          '--client-secret-file',
          users,
          '--redirect-uri',
          hostile(random, 'http://127.0.0.1/'),
          ...json,
        ],
        { cwd: dir },
      );
      await new Promise((resolve) => setTimeout(resolve, 800));
      run.kill('SIGINT');
      const r = await run.done;
      assertClean(`emulator ${json.join(' ')}`, r);
    }
  });

  test('M3: admin override and approve print a stored name and email escaped', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'team.db');
    const login = await runCli(['login', '--emulator', '--auto-approve', '--json', '--db', db], {
      env: { JWT_SECRET: SECRET },
      cwd: dir,
    });
    assert.equal(login.code, 0, login.stderr);
    const override = await runCli(
      [
        'admin',
        'override',
        'zhangsan@corp.example',
        '--name',
        'x\x1b]0;owned\x07\x1b[2Jy',
        '--db',
        db,
      ],
      { cwd: dir },
    );
    assert.equal(override.code, 0, override.stderr);
    assert.match(override.stdout, /x\\x1b\]0;owned\\x07\\x1b\[2Jy/);
    assertClean('admin override', override);
    const file = new Database(db);
    file.prepare("UPDATE users SET email = 'z\u202egnp.exe@corp.example'").run();
    file.prepare('UPDATE platform_members SET authorized = 0').run();
    file.close();
    const approve = await runCli(['admin', 'approve', 'z\u202egnp.exe@corp.example', '--db', db], {
      cwd: dir,
    });
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, /z\\u202egnp\.exe@corp\.example/);
    assertClean('admin approve', approve);
  });

  test('the one JSON rule: escapes, and the same text back', async () => {
    const { jsonText } = await import('../src/cli/sanitize.ts');
    const value = { s: `a${NASTY.join('')}\u{e0041}z` };
    const text = jsonText(value);
    assert.doesNotMatch(text, DANGER);
    assert.deepEqual(JSON.parse(text), value);
  });
});
