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
  scrubSecrets,
  SSL_MODES,
} from '../../config/db-target.js';
import { CliError, isCliError } from '../../cli/errors.js';
import { planFromState, type LoginPlan } from '../plan.js';
import {
  accessModeOf,
  decideLogin,
  invitationKey,
  type AccessMode,
  type LoginDecision,
} from '../../muvee/membership.js';
import type { Role } from '../../muvee/session.js';
import type { LoginInput, LoginResult, StoredUser } from '../sqlite/store.js';
import type { UserStore } from '../index.js';

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

/** The tables and columns this tool reads or writes (a subset of muvee's schema). */
export const REQUIRED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  users: [
    'id',
    'email',
    'name',
    'avatar_url',
    'role',
    'created_at',
    'authorized',
    'name_overridden',
    'avatar_overridden',
  ],
  platform_members: ['user_id', 'role', 'authorized', 'created_at'],
  invitations: ['id', 'email', 'created_at'],
  system_settings: ['key', 'value', 'updated_at'],
};

/** The single-column unique keys the upserts' ON CONFLICT targets need. */
const REQUIRED_UNIQUE: readonly [string, string][] = [
  ['users', 'email'],
  ['platform_members', 'user_id'],
  ['invitations', 'email'],
  ['system_settings', 'key'],
];

interface UserRow {
  id: string;
  email: string | null;
  name: string;
  avatar_url: string;
  role: Role;
  authorized: boolean;
  name_overridden: boolean;
  avatar_overridden: boolean;
  created_at: Date;
  member_role: Role | null;
  member_authorized: boolean | null;
}

const USER_SELECT = `SELECT u.id, u.email, u.name, u.avatar_url, u.role, u.authorized,
  u.name_overridden, u.avatar_overridden, u.created_at,
  m.role AS member_role, m.authorized AS member_authorized
  FROM users u LEFT JOIN platform_members m ON m.user_id = u.id`;

const toUser = (row: UserRow): StoredUser => ({
  id: row.id,
  email: row.email ?? '',
  name: row.name,
  avatarUrl: row.avatar_url,
  role: row.member_role ?? 'member',
  authorized: row.member_authorized === true,
  member: row.member_role !== null,
  legacyRole: row.role,
  nameOverridden: row.name_overridden,
  avatarOverridden: row.avatar_overridden,
  createdAt: toIso(row.created_at),
  lastLoginAt: null,
});

const toIso = (value: Date | string): string =>
  value instanceof Date ? value.toISOString() : new Date(value).toISOString();

/**
 * A user id as PostgreSQL's uuid type reads it (hyphens anywhere, braces, and `urn:uuid:` as
 * muvee's uid parsing accepts), canonical; undefined when it is not one.
 */
export function asUuid(text: string): string | undefined {
  const hex = text
    .trim()
    .replace(/^urn:uuid:/i, '')
    .replace(/^\{(.*)\}$/, '$1')
    .replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
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

/**
 * Checks that the tables and columns in REQUIRED_COLUMNS exist in the current schema (and the
 * unique keys the upserts rely on); a `db-unusable` error naming what is missing otherwise.
 * Reads only.
 */
export async function checkMuveeSchema(client: PoolClient, url: string): Promise<void> {
  const tables = Object.keys(REQUIRED_COLUMNS);
  const { rows: columns } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [tables],
  );
  const have = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`));
  const seenTables = new Set(columns.map((c) => c.table_name));
  const missingTables = tables.filter((t) => !seenTables.has(t));
  const missingColumns = tables
    .filter((t) => seenTables.has(t))
    .flatMap((t) =>
      REQUIRED_COLUMNS[t]!.filter((c) => !have.has(`${t}.${c}`)).map((c) => `${t}.${c}`),
    );
  const { rows: schemaRows } = await client.query<{ schema: string | null; user: string }>(
    'SELECT current_schema() AS schema, current_user AS user',
  );
  const schema = schemaRows[0]?.schema ?? null;
  if (missingTables.length > 0) {
    // information_schema shows only what the role may use: tell "absent" from "no access".
    const { rows: hidden } = await client.query<{ relname: string }>(
      `SELECT c.relname FROM pg_catalog.pg_class c
       WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())
         AND c.relname = ANY($1::text[])`,
      [missingTables],
    );
    if (hidden.length > 0) {
      throw new CliError(
        'db-unusable',
        `${where(url)}: role '${schemaRows[0]?.user}' has no access to muvee's table${hidden.length > 1 ? 's' : ''} ${hidden.map((r) => r.relname).join(', ')}; grant it SELECT (and INSERT, UPDATE to write)`,
        { details: { noAccess: hidden.map((r) => r.relname) } },
      );
    }
  }
  if (missingTables.length > 0 || missingColumns.length > 0) {
    const parts = [
      missingTables.length > 0
        ? `no table${missingTables.length > 1 ? 's' : ''} ${missingTables.join(', ')}`
        : '',
      missingColumns.length > 0
        ? `no column${missingColumns.length > 1 ? 's' : ''} ${missingColumns.join(', ')}`
        : '',
    ].filter(Boolean);
    throw new CliError(
      'db-unusable',
      `${where(url)}: ${parts.join(' and ')} in schema ${schema ?? '(none: empty search_path)'}; is this muvee's database (and has muvee run its migrations)?`,
      { details: { missingTables, missingColumns } },
    );
  }
  const { rows: unique } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT c.relname AS table_name, a.attname AS column_name
     FROM pg_catalog.pg_index i
     JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
     WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())
       AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND c.relname = ANY($1::text[])`,
    [tables],
  );
  const uniqueSet = new Set(unique.map((u) => `${u.table_name}.${u.column_name}`));
  const missingUnique = REQUIRED_UNIQUE.map(([t, c]) => `${t}.${c}`).filter(
    (key) => !uniqueSet.has(key),
  );
  if (missingUnique.length > 0) {
    throw new CliError(
      'db-unusable',
      `${where(url)}: no unique key on ${missingUnique.join(', ')}; is this muvee's database?`,
      { details: { missingUnique } },
    );
  }
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
   * muvee's login (EnsurePlatformMember) written, in one transaction (see the file's comment for
   * the locking). A refusal (invite mode) writes nothing and is a `policy-denied` error. On
   * PostgreSQL nothing of the tool's own is written: `previousEmailForUnionId` is undefined
   * and `otherUnionIds` empty.
   */
  recordLogin(input: LoginInput): Promise<LoginResult> {
    return this.transaction('write', async (c): Promise<LoginResult> => {
      const accessMode = await readAccessMode(c);
      const invited = await readInvited(c, input.email);
      const before = await selectUser(c, 'u.email = $1', input.email);
      let decision = decide(accessMode, invited, before, input.admin);
      if (decision.refused) throw notInvited(input.email, accessMode, decision);

      const newId = randomUUID();
      const now = input.now?.toISOString() ?? null;
      const upserted = await c.query<{ id: string }>(
        `INSERT INTO users (id, email, name, avatar_url, role, authorized, created_at)
         VALUES ($1, $2, $3, $4, 'member', $5, coalesce($6::timestamptz, now()))
         ON CONFLICT (email) DO UPDATE SET
           name = CASE WHEN users.name_overridden THEN users.name ELSE EXCLUDED.name END,
           avatar_url = CASE WHEN users.avatar_overridden THEN users.avatar_url ELSE EXCLUDED.avatar_url END
         RETURNING id`,
        [newId, input.email, input.name, input.avatarUrl, decision.authorized, now],
      );
      const id = upserted.rows[0]!.id;
      const created = id === newId;
      // The users row is ours (inserted, or locked by the update) until COMMIT. Decide again on
      // the membership as it is now: another login may have committed since the first read.
      let member = await selectMember(c, id);
      decision = decideLogin({ accessMode, userExists: !created, member, invited }, input.admin);
      if (decision.refused) throw notInvited(input.email, accessMode, decision);
      if (decision.newMember) {
        const inserted = await c.query(
          `INSERT INTO platform_members (user_id, role, authorized, created_at)
           VALUES ($1, $2, $3, coalesce($4::timestamptz, now()))
           ON CONFLICT (user_id) DO NOTHING`,
          [id, decision.newMember.role, decision.newMember.authorized, now],
        );
        if (inserted.rowCount === 0) {
          // A writer that does not lock the users row (muvee's member insert) came first.
          member = await selectMember(c, id);
          decision = decideLogin({ accessMode, userExists: true, member, invited }, input.admin);
        }
      }
      if (decision.promote)
        await c.query(
          `UPDATE platform_members SET role = 'admin' WHERE user_id = $1 AND role <> 'admin'`,
          [id],
        );
      if (decision.authorizeByInvite)
        await c.query(
          'UPDATE platform_members SET authorized = true WHERE user_id = $1 AND NOT authorized',
          [id],
        );
      const user = await selectUser(c, 'u.id = $1', id);
      return {
        user: user!,
        created,
        promoted: decision.promote,
        accessMode,
        decision,
        previousEmailForUnionId: undefined,
        otherUnionIds: [],
      };
    });
  }

  /**
   * muvee's login as a dry run: reads the access mode, the invitation and the user with exactly
   * this email in one read-only snapshot and says what `recordLogin` would do. Writes nothing.
   */
  planLogin(input: LoginInput): Promise<LoginPlan> {
    return this.transaction('read', async (c) =>
      planFromState(input, {
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
    const uuid = asUuid(id);
    if (!uuid) return undefined;
    const { rows } = await this.query<UserRow>(`${USER_SELECT} WHERE u.id = $1`, [uuid]);
    return rows[0] && toUser(rows[0]);
  }

  /** Every user (or a page: skip `offset`, then at most `limit`), by created_at then email. */
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
    const id = asUuid(userId);
    if (!id) throw noSuchUser(userId);
    return id;
  }
}

// --- reads inside a transaction ------------------------------------------------------------

async function readAccessMode(c: PoolClient): Promise<AccessMode> {
  const { rows } = await c.query<{ value: string }>(
    `SELECT value FROM system_settings WHERE key = 'access_mode'`,
  );
  return accessModeOf(rows[0]?.value);
}

async function readInvited(c: PoolClient, email: string): Promise<boolean> {
  const { rowCount } = await c.query('SELECT 1 FROM invitations WHERE email = $1', [
    invitationKey(email),
  ]);
  return (rowCount ?? 0) > 0;
}

async function selectUser(
  c: PoolClient,
  where: string,
  value: string,
): Promise<StoredUser | undefined> {
  const { rows } = await c.query<UserRow>(`${USER_SELECT} WHERE ${where}`, [value]);
  return rows[0] && toUser(rows[0]);
}

async function selectMember(
  c: PoolClient,
  userId: string,
): Promise<{ role: Role; authorized: boolean } | undefined> {
  const { rows } = await c.query<{ role: Role; authorized: boolean }>(
    'SELECT role, authorized FROM platform_members WHERE user_id = $1 FOR UPDATE',
    [userId],
  );
  return rows[0];
}

function decide(
  accessMode: AccessMode,
  invited: boolean,
  user: StoredUser | undefined,
  admin: boolean,
): LoginDecision {
  return decideLogin(
    {
      accessMode,
      userExists: user !== undefined,
      member: user?.member ? { role: user.role, authorized: user.authorized } : undefined,
      invited,
    },
    admin,
  );
}

function notInvited(email: string, accessMode: AccessMode, decision: LoginDecision): CliError {
  return new CliError(
    'policy-denied',
    `muvee would refuse ${email}: the access mode is 'invite' and this email is neither invited nor a member (muvee shows /login?error=not_invited); invite it with 'muvee-dingtalk admin invite ${email}'. Nothing was stored`,
    { details: { email, accessMode, refused: decision.refused } },
  );
}

function noSuchUser(userId: string): CliError {
  return new CliError('usage', `no user with id '${userId}' in muvee's database`);
}

// --- errors -----------------------------------------------------------------------------------

type Phase = 'connect' | 'read' | 'write';

const where = (url: string) => `muvee's PostgreSQL ${redactUrl(url)}`;

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A connection that failed below SQL (socket, TLS, protocol) is not returned to the pool. */
function brokenConnection(error: unknown): boolean {
  const code = sqlState(error);
  return code === undefined || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08');
}

const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Any error from pg (or the network below it) as a CliError with a message that says what to
 * do and never holds the password. `db-unusable` (exit 2): the URL, credentials, address,
 * sslmode, permissions or schema must change. `db-error` (exit 1): the database failed or a
 * concurrent writer won; trying again may work. A write that fails is rolled back first.
 */
export function pgErrorToCliError(
  error: unknown,
  url: string,
  phase: Phase,
  extra: { attempts?: number } = {},
): CliError {
  if (isCliError(error)) return error;
  const target = pgTarget(url);
  const at = where(url);
  const code = sqlState(error) ?? '';
  const raw = error instanceof Error ? error.message : String(error);
  const message = scrubSecrets(raw, url);
  const nothing = phase === 'write' ? '; nothing was written' : '';
  const details = { db: redactUrl(url), ...(code ? { code } : {}) };
  const make = (kind: 'db-unusable' | 'db-error', text: string) => {
    const cause = new Error(message);
    (cause as Error & { code?: string }).code = code || undefined;
    return new CliError(kind, text, { cause, details });
  };
  const user = target.user ? `'${target.user}'` : '(the default user)';

  switch (code) {
    case '28P01':
      return make(
        'db-unusable',
        `${at}: password authentication failed for user ${user}; check the password in the URL`,
      );
    case '28000':
      return make(
        'db-unusable',
        `${at}: the server refused the connection (${message}); check the user, the database and sslmode against the server's pg_hba.conf`,
      );
    case '3D000':
      return make(
        'db-unusable',
        `${at}: database '${target.database ?? target.user ?? ''}' does not exist; check the URL's path`,
      );
    case '42501':
      return make(
        'db-unusable',
        `${at}: role ${user} may not ${phase === 'write' ? 'write to' : 'read'} muvee's tables (${message})${nothing}; use a role that may SELECT, INSERT and UPDATE users, platform_members, invitations and system_settings`,
      );
    case '25006':
      return make('db-unusable', `${at}: the server is read-only (${message})${nothing}`);
    case '40001':
    case '40P01':
      return make(
        'db-error',
        `${at}: a concurrent writer kept conflicting with this ${phase} (${code === '40001' ? 'serialization failure' : 'deadlock'}, ${extra.attempts ?? 1} attempt${(extra.attempts ?? 1) > 1 ? 's' : ''})${nothing}; try again`,
      );
    case '55P03':
      return make(
        'db-error',
        `${at}: waited too long for a row another session holds locked (muvee, or another run)${nothing}; try again`,
      );
    case '57014':
      return make('db-error', `${at}: a statement took too long and was cancelled${nothing}`);
    case '53300':
      return make('db-error', `${at}: the server has no connection slot free; try again later`);
    case '57P01':
    case '57P02':
    case '57P03':
      return make('db-error', `${at}: the server is shutting down or starting up (${message})`);
    case 'ECONNREFUSED':
      return make(
        'db-unusable',
        `${at}: nothing accepts connections at ${target.host}:${target.port} (connection refused); is PostgreSQL running there, and are the host and port right?`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make('db-unusable', `${at}: host '${target.host}' not found; check the URL's host`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make(
        'db-unusable',
        `${at}: ${target.host}:${target.port} is unreachable (${code}); check the host, port and firewall`,
      );
    case 'ENOENT':
      return make(
        'db-unusable',
        `${at}: a file the URL names cannot be read (${message}); check sslrootcert, sslcert and sslkey`,
      );
  }
  if (TLS_VERIFY_CODES.has(code)) {
    return make(
      'db-unusable',
      `${at}: the server's TLS certificate is not trusted (${code}) under sslmode=${target.sslmode ?? '(none)'}; give sslrootcert=<CA file>, or use sslmode=require to encrypt without verifying (as muvee's driver does with require)`,
    );
  }
  if (/does not support SSL/i.test(raw)) {
    return make(
      'db-unusable',
      `${at}: the server does not support TLS but sslmode=${target.sslmode ?? 'require'} asks for it; use sslmode=disable or turn on ssl in the server`,
    );
  }
  if (/timeout expired|timeout exceeded|connection timeout/i.test(raw)) {
    return make(
      'db-unusable',
      `${at}: no answer from ${target.host}:${target.port} within the connection timeout; is the server reachable and is the port PostgreSQL's?`,
    );
  }
  if (/client password must be a string|password must be a string/i.test(raw)) {
    return make(
      'db-unusable',
      `${at}: the server asks for a password and the URL gives none (postgres://user:password@host/db)`,
    );
  }
  if (/SECURITY WARNING: Using sslmode=verify-ca requires/i.test(raw)) {
    return make('db-unusable', `${at}: sslmode=verify-ca needs sslrootcert=<CA file> in the URL`);
  }
  if (/Connection terminated|ECONNRESET|socket hang up/i.test(raw) || code === 'ECONNRESET') {
    return make(
      'db-error',
      `${at}: the server closed the connection (${message})${phase === 'write' ? "; the write was not confirmed: check with 'users show' whether it happened" : ''}`,
    );
  }
  if (code.startsWith('08')) {
    return make('db-unusable', `${at}: cannot connect (${message})`);
  }
  return make('db-error', `${at} failed${code ? ` (${code})` : ''}: ${message}${nothing}`);
}
