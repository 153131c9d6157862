/**
 * muvee's own PostgreSQL as a store (`--db postgres://…`, `DATABASE_URL`): the same contract as
 * the SQLite store (store.ts) where it makes sense, async, on muvee's tables as muvee has them
 * (shared/muvee-server.md §3). `pg` is loaded only by `openPgStore`.
 *
 * - muvee's schema is never touched: no CREATE or ALTER. On open, the tables and columns this
 *   tool reads and writes are checked (information_schema), and a database that lacks them is
 *   a `db-unusable` error naming what is missing.
 * - Nothing of the tool's own goes into muvee's database: no DingTalk link, no last login.
 * - `planLogin` is a read-only dry run (a READ ONLY transaction: the server itself refuses any
 *   write); `recordLogin` writes muvee's login in one transaction.
 *
 * Concurrency (`recordLogin`): READ COMMITTED with row locks, not SERIALIZABLE. The users row is
 * upserted first (`INSERT … ON CONFLICT (email) DO UPDATE`), which inserts it or locks the
 * existing one until COMMIT; muvee's own login upserts the same row first, so logins of one
 * email (this tool's, in any number of processes, and muvee's) queue on that lock instead of
 * failing. The membership is then re-read (`FOR UPDATE`; under READ COMMITTED each statement
 * sees everything committed before it) and muvee's decision (muvee-rules.ts) is made on that
 * fresh state; the member insert is `ON CONFLICT DO NOTHING` (re-read and re-decided if a
 * writer that does not take the users lock got there first), and promotion/authorization are
 * conditional UPDATEs, so each write is idempotent. SERIALIZABLE would only detect conflicts
 * with other SERIALIZABLE transactions (muvee runs READ COMMITTED), and would turn every
 * collision into a 40001 to retry. A serialization failure or deadlock (40001, 40P01: e.g. a
 * server whose triggers or settings cause them) is still retried a bounded number of times,
 * then reported as `db-error`; the transaction is always rolled back first, so nothing is
 * half-written.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import {
  isPostgresUrl,
  pgConnectionString,
  pgTarget,
  redactUrl,
  SSL_MODES,
} from '../../config/db-target.js';
import { CliError, isCliError } from '../../cli/errors.js';
import { pgUuid } from '../../muvee/shapes.js';
import { loginSteps, planLogin, runAsync, type LoginPlan } from '../record-login.js';
import { brokenConnection, pgErrorToCliError, sqlState, where, type Phase } from './errors.js';
import { checkMuveeSchema } from './schema.js';
import { loginPort, readAccessMode, readInvited, selectUser } from './login-port.js';
import { USER_SELECT, toIso, toUser, type UserRow } from './rows.js';

export { pgErrorToCliError } from './errors.js';
import { invitationKey } from '../../muvee/membership.js';
import type { UserStore } from '../contract.js';
import {
  type AccessMode,
  accessModeOf,
  type LoginInput,
  type LoginResult,
  type StoredUser,
} from '../../muvee/model.js';

export interface PgStoreOptions {
  /** Give up connecting after this long (pg's connectionTimeoutMillis). Default 10 s. */
  connectionTimeoutMillis?: number;
  /** Give up waiting for a row lock (muvee holding it) after this long. Default 15 s. */
  lockTimeoutMillis?: number;
  /** Cancel any one statement after this long. Default 30 s. */
  statementTimeoutMillis?: number;
  /** Connections in the pool. Default 4. */
  maxConnections?: number;
  /** Attempts of a write transaction on a serialization failure or deadlock. Default 4. */
  maxAttempts?: number;
  /** Shown in pg_stat_activity. Default `muvee-dingtalk`. */
  applicationName?: string;
}

/**
 * Connects to muvee's PostgreSQL at `url`, checks that its tables are there, and returns the
 * store. Every failure is a CliError: `db-unusable` (exit 2) for what the user must fix (the
 * URL, the password, the server's address, sslmode, a database that is not muvee's), `db-error`
 * (exit 1) otherwise. No message holds the password.
 */
export async function openPgStore(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
  if (!isPostgresUrl(url)) {
    throw new CliError(
      'db-unusable',
      `'${redactUrl(url)}' is not a PostgreSQL URL (postgres://user:password@host:port/database)`,
    );
  }
  const target = pgTarget(url);
  if (target.sslmode !== undefined && !(SSL_MODES as readonly string[]).includes(target.sslmode)) {
    throw new CliError(
      'db-unusable',
      `${where(url)}: sslmode=${target.sslmode} is not one of ${SSL_MODES.join(', ')}`,
    );
  }
  const { default: pg } = await import('pg');
  let pool: Pool;
  try {
    pool = new pg.Pool({
      connectionString: pgConnectionString(url),
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
      max: options.maxConnections ?? 4,
      idleTimeoutMillis: 5_000,
      allowExitOnIdle: true,
      application_name: options.applicationName ?? 'muvee-dingtalk',
      lock_timeout: options.lockTimeoutMillis ?? 15_000,
      statement_timeout: options.statementTimeoutMillis ?? 30_000,
    });
  } catch (error) {
    throw pgErrorToCliError(error, url, 'connect');
  }
  // An idle connection the server closes (restart, idle timeout) must not crash the process.
  pool.on('error', () => {});
  // Nor may one that breaks while checked out between two queries: the next query reports it.
  pool.on('connect', (client) => client.on('error', () => {}));
  const store = new PgStore(pool, url, options);
  try {
    const client = await store.connect();
    try {
      await checkMuveeSchema(client, url);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw isCliError(error) ? error : pgErrorToCliError(error, url, 'connect');
  }
  return store;
}

export class PgStore implements UserStore {
  readonly kind = 'postgres' as const;
  /** The URL without its password. */
  readonly location: string;
  private readonly maxAttempts: number;

  /** Use `openPgStore`. */
  constructor(
    private readonly pool: Pool,
    private readonly url: string,
    options: PgStoreOptions = {},
  ) {
    this.location = redactUrl(url);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }

  /** @internal A pooled connection; a failure to connect is a CliError. */
  async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw pgErrorToCliError(error, this.url, 'connect');
    }
  }

  private async query<R extends object>(
    sql: string,
    params: unknown[] = [],
    phase: Phase = 'read',
  ): Promise<{ rows: R[]; rowCount: number }> {
    const client = await this.connect();
    try {
      const result = await client.query<R & Record<string, unknown>>(sql, params);
      client.release();
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      client.release(brokenConnection(error));
      throw pgErrorToCliError(error, this.url, phase);
    }
  }

  /**
   * Runs `fn` in one transaction: READ COMMITTED READ WRITE for writes (retried on 40001/40P01
   * up to maxAttempts), REPEATABLE READ READ ONLY for reads (one snapshot; the server refuses
   * any write). Any error rolls back everything; a CliError from `fn` (a refusal) passes
   * through unchanged.
   */
  private async transaction<T>(
    phase: 'read' | 'write',
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.connect();
      try {
        await client.query(
          phase === 'write'
            ? 'BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE'
            : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        );
        const result = await fn(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        let broken = brokenConnection(error);
        if (!broken)
          broken = await client.query('ROLLBACK').then(
            () => false,
            () => true,
          );
        client.release(broken);
        if (isCliError(error)) throw error;
        const code = sqlState(error);
        if ((code === '40001' || code === '40P01') && attempt < this.maxAttempts) {
          await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 40 * attempt));
          continue;
        }
        throw pgErrorToCliError(error, this.url, phase, { attempts: attempt });
      }
    }
  }

  /**
   * muvee's login (record-login.ts, over this database's port) written, in one transaction (see
   * the file's comment for the locking). A refusal (invite mode) writes nothing and is a
   * `policy-denied` error. On PostgreSQL nothing of the tool's own is written:
   * `previousEmailForUnionId` is undefined and `otherUnionIds` empty.
   */
  recordLogin(input: LoginInput): Promise<LoginResult> {
    return this.transaction('write', (c) => runAsync(loginSteps(input), loginPort(c, input.now)));
  }

  /**
   * muvee's login as a dry run: reads the access mode, the invitation and the user with exactly
   * this email in one read-only snapshot and runs the same steps over it (record-login.ts
   * `planLogin`). Writes nothing.
   */
  planLogin(input: LoginInput): Promise<LoginPlan> {
    return this.transaction('read', async (c) =>
      planLogin(input, {
        accessMode: await readAccessMode(c),
        invited: await readInvited(c, input.email),
        existing: await selectUser(c, 'u.email = $1', input.email),
      }),
    );
  }

  /**
   * The user with exactly this email; else the only one whose email matches ignoring case
   * (several such: none), as the SQLite store.
   */
  async findByEmail(email: string): Promise<StoredUser | undefined> {
    const exact = await this.query<UserRow>(`${USER_SELECT} WHERE u.email = $1`, [email]);
    if (exact.rows[0]) return toUser(exact.rows[0]);
    const near = await this.query<UserRow>(
      `${USER_SELECT} WHERE lower(u.email) = lower($1) LIMIT 2`,
      [email],
    );
    return near.rows.length === 1 ? toUser(near.rows[0]!) : undefined;
  }

  async findById(id: string): Promise<StoredUser | undefined> {
    const uuid = pgUuid(id);
    if (!uuid) return undefined;
    const { rows } = await this.query<UserRow>(`${USER_SELECT} WHERE u.id = $1`, [uuid]);
    return rows[0] && toUser(rows[0]);
  }

  /** Every user (or a page: skip `offset`, then at most `limit`), by created_at then email. */
  /** muvee keeps no DingTalk identifier, and this tool writes nothing of its own here. */
  async unionIds(): Promise<string[]> {
    return [];
  }

  async list(page: { offset?: number; limit?: number } = {}): Promise<StoredUser[]> {
    const { rows } = await this.query<UserRow>(
      `${USER_SELECT} ORDER BY u.created_at, u.email LIMIT $1 OFFSET $2`,
      [page.limit ?? null, page.offset ?? 0],
    );
    return rows.map(toUser);
  }

  // --- muvee's settings, invitations and members (the admin subcommands) ---------------------

  async accessMode(): Promise<AccessMode> {
    const { rows } = await this.query<{ value: string }>(
      `SELECT value FROM system_settings WHERE key = 'access_mode'`,
    );
    return accessModeOf(rows[0]?.value);
  }

  async setAccessMode(mode: AccessMode, now?: Date): Promise<void> {
    await this.transaction('write', (c) =>
      c.query(
        `INSERT INTO system_settings (key, value, updated_at)
         VALUES ('access_mode', $1, coalesce($2::timestamptz, now()))
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
        [mode, now?.toISOString() ?? null],
      ),
    );
  }

  async isInvited(email: string): Promise<boolean> {
    const { rows } = await this.query('SELECT 1 FROM invitations WHERE email = $1', [
      invitationKey(email),
    ]);
    return rows.length > 0;
  }

  async invitations(): Promise<{ email: string; createdAt: string }[]> {
    const { rows } = await this.query<{ email: string; created_at: Date | null }>(
      'SELECT email, created_at FROM invitations ORDER BY email',
    );
    return rows.map((r) => ({
      email: r.email,
      createdAt: r.created_at ? toIso(r.created_at) : '',
    }));
  }

  /** Returns false when the email was invited already. */
  async invite(email: string, now?: Date): Promise<boolean> {
    const result = await this.transaction('write', (c) =>
      c.query(
        `INSERT INTO invitations (id, email, created_at)
         VALUES ($1, $2, coalesce($3::timestamptz, now())) ON CONFLICT (email) DO NOTHING`,
        [randomUUID(), invitationKey(email), now?.toISOString() ?? null],
      ),
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Returns false when there was no such invitation. */
  async uninvite(email: string): Promise<boolean> {
    const result = await this.transaction('write', (c) =>
      c.query('DELETE FROM invitations WHERE email = $1', [invitationKey(email)]),
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** muvee's approval of a pending member. Returns false when already authorized. */
  async approve(userId: string, now?: Date): Promise<boolean> {
    const id = this.userIdOrThrow(userId);
    return this.transaction('write', async (c) => {
      const exists = await c.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [id]);
      if (exists.rowCount === 0) throw noSuchUser(userId);
      const changed = await c.query(
        `INSERT INTO platform_members (user_id, role, authorized, created_at)
         VALUES ($1, 'member', true, coalesce($2::timestamptz, now()))
         ON CONFLICT (user_id) DO UPDATE SET authorized = true WHERE NOT platform_members.authorized`,
        [id, now?.toISOString() ?? null],
      );
      await c.query('UPDATE users SET authorized = true WHERE id = $1 AND NOT authorized', [id]);
      return (changed.rowCount ?? 0) > 0;
    });
  }

  /**
   * What muvee's profile edit does: set the name or avatar and mark it overridden, or clear the
   * mark (the next login refreshes it from DingTalk).
   */
  async setOverride(
    userId: string,
    field: 'name' | 'avatar',
    value: string | undefined,
  ): Promise<void> {
    const id = this.userIdOrThrow(userId);
    const column = field === 'name' ? 'name' : 'avatar_url';
    const flag = field === 'name' ? 'name_overridden' : 'avatar_overridden';
    await this.transaction('write', async (c) => {
      const result =
        value === undefined
          ? await c.query(`UPDATE users SET ${flag} = false WHERE id = $1`, [id])
          : await c.query(`UPDATE users SET ${column} = $2, ${flag} = true WHERE id = $1`, [
              id,
              value,
            ]);
      if (result.rowCount === 0) throw noSuchUser(userId);
    });
  }

  private userIdOrThrow(userId: string): string {
    const id = pgUuid(userId);
    if (!id) throw noSuchUser(userId);
    return id;
  }
}

function noSuchUser(userId: string): CliError {
  return new CliError('usage', `no user with id '${userId}' in muvee's database`);
}
