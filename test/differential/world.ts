/**
 * The databases of the differential comparison: muvee's PostgreSQL (muvee's 50 migrations by
 * muvee's own runner) and a local SQLite file, each holding USERS; and muvee-oracle's judge and
 * mint against the PostgreSQL one.
 */
import { join } from 'node:path';
import { Database, BINDING } from '../../src/store/sqlite/binding.ts';
import { Store } from '../../src/store/sqlite/store.ts';
import { createOracleDatabase, runOracle } from '../oracle/oracle.ts';
import { startCluster, type PgCluster } from '../pg/cluster.ts';
import { DIFF_SECRET, USERS, type OracleVerdict } from './compare-tokens.ts';

export interface OracleWorld {
  cluster: PgCluster;
  url: string;
  judge(tokens: string[]): Promise<OracleVerdict[]>;
  mint(lines: string[]): Promise<string[]>;
  stop(): void;
}

export async function startOracleWorld(): Promise<OracleWorld> {
  const cluster = await startCluster();
  try {
    const url = await createOracleDatabase(cluster, 'differential');
    for (const user of USERS) {
      await cluster.sql(
        'INSERT INTO users (id, email, name) VALUES ($1, $2, $3)',
        [user.id, user.email, user.email],
        'differential',
      );
      if (user.role)
        await cluster.sql(
          'INSERT INTO platform_members (user_id, role, authorized) VALUES ($1, $2, $3)',
          [user.id, user.role, user.authorized],
          'differential',
        );
    }
    const env = { DATABASE_URL: url, JWT_SECRET: DIFF_SECRET };
    return {
      cluster,
      url,
      async judge(tokens) {
        const r = await runOracle(['judge'], env, `${tokens.join('\n')}\n`);
        if (r.status !== 0) throw new Error(`muvee-oracle judge exited ${r.status}: ${r.stderr}`);
        const verdicts = r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as OracleVerdict & { line: number });
        if (verdicts.length !== tokens.length)
          throw new Error(
            `muvee-oracle judge answered ${verdicts.length} of ${tokens.length} tokens: ${r.stderr}`,
          );
        return verdicts;
      },
      async mint(lines) {
        const r = await runOracle(['mint'], env, `${lines.join('\n')}\n`);
        if (r.status !== 0) throw new Error(`muvee-oracle mint exited ${r.status}: ${r.stderr}`);
        return r.stdout.split('\n').filter(Boolean);
      },
      stop: () => cluster.stop(),
    };
  } catch (error) {
    cluster.stop();
    throw error;
  }
}

/** A local SQLite database (this tool's schema) holding USERS with the same ids. */
export function sqliteWorld(dir: string): string {
  const path = join(dir, 'differential.db');
  Store.open(path).close();
  const db = new Database(path, BINDING);
  const now = new Date().toISOString();
  for (const user of USERS) {
    db.prepare('INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)').run(
      user.id,
      user.email,
      user.email,
      now,
    );
    if (user.role)
      db.prepare(
        'INSERT INTO platform_members (user_id, role, authorized, created_at) VALUES (?, ?, ?, ?)',
      ).run(user.id, user.role, user.authorized ? 1 : 0, now);
  }
  db.close();
  return path;
}
