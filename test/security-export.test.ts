/**
 * Issue 20, H2/L5/L6: `users export --sql` imported with the documented `psql -f` into a
 * hostile or merely unusual PostgreSQL session. The script must mean the same thing whatever
 * the importing session's settings are (`standard_conforming_strings = off`, a LATIN1 client
 * encoding), and a failed import must fail the `psql -f` run (exit 3), not exit 0 after a
 * rollback. Real PostgreSQL (test/pg/cluster.ts) and its own psql; the DingTalk nickname of the
 * issue's reproduction, verbatim, comes in through a real login against the emulator.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { loginAs, prng, runCli, tempDir } from './helpers.ts';
import { findPgBin, pgUnavailable, startCluster, type PgCluster } from './pg/cluster.ts';

const skip = pgUnavailable();
if (skip) console.warn(`\n!!!!! export-into-PostgreSQL attack tests SKIPPED: ${skip} !!!!!\n`);

/** The reproduction, verbatim (63 characters). */
const INJECTION = "\\',$$$$,$$member$$,now(),true,false,false);DROP TABLE canary;--";

/** Names a hostile or unlucky DingTalk org member could choose. */
const HOSTILE_NICKS = [
  INJECTION,
  "O'Brien \\ back\\\\slash ''",
  "\\'); DROP TABLE canary; --",
  '$$; DROP TABLE canary; $$',
  '$x$ $$ $',
  "E'\\x41' U&'\\0041'",
  'Zoë Łukasz 张三 🙂 ünïcödé',
  'line\nbreak\r\n\\. end-of-copy',
  '\\set ON_ERROR_STOP off',
  '\\! touch /tmp/pwned-by-nick',
  ':foo :"bar" :\'baz\'',
  '--comment /* open comment',
  'tab\there\x1b[31m\x07\x7f\u0085\u202e',
  '\u00a0\u200b\ufeff',
];

const SESSIONS: Record<string, Record<string, string>> = {
  'standard_conforming_strings off': { PGOPTIONS: '-c standard_conforming_strings=off' },
  'LATIN1 client encoding': { PGCLIENTENCODING: 'LATIN1' },
  'both, and escape_string_warning off': {
    PGOPTIONS: '-c standard_conforming_strings=off -c escape_string_warning=off',
    PGCLIENTENCODING: 'LATIN1',
  },
  'SQL_ASCII client encoding': { PGCLIENTENCODING: 'SQL_ASCII' },
  defaults: {},
};

describe('users export --sql in a hostile PostgreSQL session (issue 20 H2, L5, L6)', () => {
  if (skip) {
    test('export import cases', { skip }, () => {});
    return;
  }
  let cluster: PgCluster;
  let emulator: Emulator;
  let n = 0;
  const dir = tempDir();
  const db = join(dir, 'team.db');
  let script = '';

  before(async () => {
    cluster = await startCluster();
    emulator = await startEmulator({
      users: HOSTILE_NICKS.map((nick, i) => ({
        id: `u${i}`,
        nick,
        unionId: `hostileUnion${String(i).padStart(8, '0')}`,
        openId: `hostileOpen${i}`,
        email: `u${i}@corp.example`,
      })),
    });
    for (let i = 0; i < HOSTILE_NICKS.length; i++) {
      const r = await loginAs(emulator, `u${i}`, { cwd: dir, db, args: ['--json'] });
      assert.equal(r.code, 0, r.stderr);
    }
    const exported = await runCli(['users', 'export', '--sql', '--db', db], { cwd: dir });
    assert.equal(exported.code, 0, exported.stderr);
    script = exported.stdout;
  });
  after(async () => {
    await emulator?.close();
    cluster?.stop();
  });

  /** `psql -X -f <file>` as the README documents it (no -v ON_ERROR_STOP on the command line). */
  const psql = (database: string, file: string, env: Record<string, string>) => {
    const r = spawnSync(
      join(findPgBin()!, 'psql'),
      ['-X', '-q', '-d', cluster.url(database), '-f', file],
      {
        env: { PATH: process.env.PATH, LANG: 'C', ...env },
        encoding: 'utf8',
      },
    );
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };

  const fresh = async () => {
    const name = await cluster.createMuveeDatabase(`export_${++n}`);
    await cluster.sql('CREATE TABLE canary (x int); INSERT INTO canary VALUES (1)', [], name);
    return name;
  };

  for (const [label, env] of Object.entries(SESSIONS)) {
    test(`${label}: nothing but the rows runs, and every name arrives byte for byte`, async () => {
      const database = await fresh();
      const file = join(dir, `import-${n}.sql`);
      writeFileSync(file, script);
      const r = psql(database, file, env);
      assert.equal(r.code, 0, r.out);
      const canary = await cluster.sql(
        "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'canary'",
        [],
        database,
      );
      assert.deepEqual(canary, [{ n: 1 }], `the canary table survives:\n${r.out}`);
      const names = await cluster.sql<{ email: string; name: string }>(
        'SELECT email, name FROM users ORDER BY email',
        [],
        database,
      );
      const expected = HOSTILE_NICKS.map((nick, i) => ({ email: `u${i}@corp.example`, name: nick }))
        .map((row) => ({ ...row, name: row.name.replace(/\0/g, '') }))
        .sort((a, b) => (a.email < b.email ? -1 : 1));
      assert.deepEqual(names, expected);
    });
  }

  test('a failed import fails the documented psql -f run, and leaves nothing behind', async () => {
    const database = await fresh();
    const file = join(dir, `import-twice-${n}.sql`);
    writeFileSync(file, script);
    assert.equal(psql(database, file, {}).code, 0);
    const before = cluster.dumpData(database);
    // The same rows again: the first INSERT conflicts with muvee's existing row.
    const again = psql(database, file, {});
    assert.notEqual(again.code, 0, `psql -f must not exit 0 after a rollback:\n${again.out}`);
    assert.match(again.out, /duplicate key|already exists/);
    assert.equal(cluster.dumpData(database), before, 'the failed import changed nothing');
  });

  test('fuzz: 400 random names (quotes, backslashes, dollars, controls, any plane) round-trip', async () => {
    const random = prng(20_20);
    const alphabet = [
      "'",
      '\\',
      '$',
      '"',
      ';',
      '-',
      '\n',
      '\r',
      '\t',
      ':',
      'E',
      'U',
      '&',
      '\x1b',
      '\x7f',
      '\u0085',
      '\u2028',
      '\u202e',
      'é',
      '张',
      '🙂',
      'a',
      ' ',
      '\ufeff',
    ];
    const names = Array.from({ length: 400 }, () => {
      let s = '';
      const length = 1 + Math.floor(random() * 40);
      for (let i = 0; i < length; i++) {
        s +=
          random() < 0.8
            ? alphabet[Math.floor(random() * alphabet.length)]
            : String.fromCodePoint(1 + Math.floor(random() * 0xffff)).replace(
                /[\ud800-\udfff]/,
                'x',
              );
      }
      return s;
    });
    const { exportSql } = await import('../src/store/export-sql.ts');
    const rows = names.map((name, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      email: `f${i}@corp.example`,
      name,
      avatar_url: name,
      role: 'member',
      created_at: '2026-01-01T00:00:00.000Z',
      authorized: 1,
      name_overridden: 0,
      avatar_overridden: 0,
    }));
    const sql = exportSql({
      users: rows,
      platformMembers: [],
      invitations: [],
      systemSettings: [],
    });
    for (const env of [
      SESSIONS['standard_conforming_strings off']!,
      SESSIONS['LATIN1 client encoding']!,
    ]) {
      const database = await fresh();
      const file = join(dir, `fuzz-${n}.sql`);
      writeFileSync(file, sql);
      const r = psql(database, file, env);
      assert.equal(r.code, 0, r.out);
      const got = await cluster.sql<{ email: string; name: string; avatar_url: string }>(
        'SELECT email, name, avatar_url FROM users',
        [],
        database,
      );
      const byEmail = new Map(got.map((row) => [row.email, row]));
      names.forEach((name, i) => {
        const row = byEmail.get(`f${i}@corp.example`);
        assert.equal(row?.name, name, `name ${i} ${JSON.stringify(name)}`);
        assert.equal(row?.avatar_url, name);
      });
    }
  });
});
