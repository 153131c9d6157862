/** Database URLs: which store a `--db` value means, redaction, sslmode; and `pg` stays unloaded. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  isPostgresUrl,
  passwordOf,
  pgConnectionString,
  pgTarget,
  redactUrl,
  scrubSecrets,
} from '../src/config/db-target.ts';
import { ROOT } from './helpers.ts';

describe('db-url', () => {
  test('isPostgresUrl: postgres:// and postgresql:// (any case), nothing else', () => {
    for (const yes of [
      'postgres://u:p@h/db',
      'postgresql://h/db',
      'POSTGRES://h',
      '  postgres://h/db',
    ])
      assert.equal(isPostgresUrl(yes), true, yes);
    for (const no of [
      './muvee-dingtalk.db',
      '/var/lib/x.db',
      'postgres.db',
      'postgres:/x',
      'mysql://h/db',
      ':memory:',
      '',
    ])
      assert.equal(isPostgresUrl(no), false, no);
  });

  test('redactUrl hides the password wherever it is, and only the password', () => {
    const cases: [string, string][] = [
      ['postgres://muvee:s3cret@db:5432/muvee', 'postgres://muvee:***@db:5432/muvee'],
      [
        'postgresql://muvee:s3cret@db/muvee?sslmode=require',
        'postgresql://muvee:***@db/muvee?sslmode=require',
      ],
      ['postgres://muvee:p@ss@word@db/muvee', 'postgres://muvee:***@db/muvee'],
      ['postgres://muvee:pa%2Fss@db/muvee', 'postgres://muvee:***@db/muvee'],
      ['postgres://muvee@db/muvee', 'postgres://muvee@db/muvee'],
      ['postgres://db/muvee', 'postgres://db/muvee'],
      ['postgres://muvee:@db/muvee', 'postgres://muvee:***@db/muvee'],
      [
        'postgres://db/muvee?user=u&password=s3cret&sslmode=disable',
        'postgres://db/muvee?user=u&password=***&sslmode=disable',
      ],
      ['postgres://u:pa?ss@db/muvee', 'postgres://u:***@db/muvee'],
      ['postgres://u:pa/ss@db/muvee', 'postgres://u:***@db/muvee'],
      ['postgres://u:pa#ss@db/muvee', 'postgres://u:***@db/muvee'],
      ['postgres://[::1]:5432/muvee', 'postgres://[::1]:5432/muvee'],
    ];
    for (const [url, expected] of cases) assert.equal(redactUrl(url), expected, url);
  });

  test('passwordOf and scrubSecrets find the password as written and decoded', () => {
    const url = 'postgres://muvee:p%40ss%2Fword@db/muvee';
    assert.equal(passwordOf(url), 'p@ss/word');
    const text = `failed for ${url}: p@ss/word and p%40ss%2Fword`;
    const scrubbed = scrubSecrets(text, url);
    assert.ok(!scrubbed.includes('p@ss/word') && !scrubbed.includes('p%40ss%2Fword'), scrubbed);
    assert.match(scrubbed, /postgres:\/\/muvee:\*\*\*@db\/muvee/);
    assert.equal(passwordOf('postgres://db/muvee?password=q1'), 'q1');
    assert.equal(passwordOf('postgres://db/muvee'), undefined);
  });

  test('pgTarget: the parts for messages, with pg defaults', () => {
    assert.deepEqual(pgTarget('postgres://muvee:x@db.internal:5433/app?sslmode=require'), {
      user: 'muvee',
      host: 'db.internal',
      port: 5433,
      database: 'app',
      sslmode: 'require',
    });
    assert.deepEqual(pgTarget('postgres:///app'), {
      user: undefined,
      host: 'localhost',
      port: 5432,
      database: 'app',
      sslmode: undefined,
    });
  });

  test("pgConnectionString keeps sslmode's libpq meaning, as muvee's driver reads it", () => {
    assert.equal(pgConnectionString('postgres://u:p@h/db'), 'postgres://u:p@h/db');
    assert.equal(
      pgConnectionString('postgres://u:p@h/db?sslmode=require'),
      'postgres://u:p@h/db?sslmode=require&uselibpqcompat=true',
    );
    assert.equal(
      pgConnectionString('postgres://u:p@h/db?sslmode=allow'),
      'postgres://u:p@h/db?sslmode=prefer&uselibpqcompat=true',
    );
    assert.equal(
      pgConnectionString('postgres://u:p@h/db?sslmode=require&uselibpqcompat=false'),
      'postgres://u:p@h/db?sslmode=require&uselibpqcompat=false',
    );
  });

  test('pg is loaded only when a PostgreSQL store is opened', () => {
    const script = `
      require(${JSON.stringify(join(ROOT, 'dist/store/index.cjs'))});
      require(${JSON.stringify(join(ROOT, 'dist/store/postgres/store.cjs'))});
      const loaded = Object.keys(require.cache).filter((f) => /node_modules\\/pg(-[a-z]+)?\\//.test(f));
      process.stdout.write(JSON.stringify(loaded));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: ROOT });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });
});
