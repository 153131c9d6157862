/**
 * Concurrent `login --emulator --apply` processes against muvee's PostgreSQL (a throwaway
 * cluster): no row lost, exactly one platform member per user.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, SECRET } from '../helpers.ts';
import { pgUnavailable, startCluster, type PgCluster } from '../pg/cluster.ts';

const skip = pgUnavailable();
if (skip) console.warn(`\n!!!!! PostgreSQL load test SKIPPED: ${skip} !!!!!\n`);

describe('PostgreSQL under concurrent logins', () => {
  if (skip) {
    test('PostgreSQL load', { skip }, () => {});
    return;
  }
  let cluster: PgCluster;
  before(async () => {
    cluster = await startCluster();
  });
  after(() => cluster?.stop());
  const rows = async (url: string, sql: string) =>
    cluster.sql<Record<string, unknown>>(sql, [], new URL(url).pathname.slice(1));
  const fresh = async () => cluster.url(await cluster.createMuveeDatabase('load'));

  test('8 processes × 50 login --emulator --apply: no row lost, one platform member per user', async () => {
    const url = await fresh();
    const workers = 8;
    const each = 50;
    const codes = await Promise.all(
      Array.from(
        { length: workers },
        (_, w) =>
          new Promise<number>((resolve) => {
            const child = spawn(
              process.execPath,
              [
                '--import',
                'tsx',
                join(ROOT, 'test/fixtures/pg-login-writer.ts'),
                url,
                String(w),
                String(each),
              ],
              {
                cwd: ROOT,
                stdio: ['ignore', 'ignore', 'inherit'],
                env: { ...process.env, JWT_SECRET: SECRET },
              },
            );
            child.on('close', (code) => resolve(code ?? -1));
          }),
      ),
    );
    assert.deepEqual(codes, Array(workers).fill(0));
    const [{ users, members, orphans, doubles }] = (await rows(
      url,
      `SELECT (SELECT count(*) FROM users)::int AS users,
              (SELECT count(*) FROM platform_members)::int AS members,
              (SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM platform_members m WHERE m.user_id = u.id))::int AS orphans,
              (SELECT count(*) FROM (SELECT email FROM users GROUP BY email HAVING count(*) > 1) d)::int AS doubles`,
    )) as [{ users: number; members: number; orphans: number; doubles: number }];
    // The emulator's built-in users: zhangsan and lisi, every worker logs both in.
    assert.equal(users, 2);
    assert.equal(members, users);
    assert.equal(orphans, 0);
    assert.equal(doubles, 0);
  });
});
