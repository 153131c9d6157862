/**
 * The store contract: what every engine (the local SQLite file, muvee's own PostgreSQL) offers
 * the commands, async alike. `store/index.ts` is the one place that picks an engine; nothing
 * outside `store/` knows which one it holds. `test/store-contract.test.ts` runs the same cases
 * on both through this face.
 *
 * Differences that stay visible through it: on PostgreSQL the tool keeps nothing of its own (no
 * DingTalk link, no last login: `lastLoginAt` is null, `previousEmailForUnionId` undefined,
 * `otherUnionIds` empty), and a user without an email (muvee allows NULL) shows as `email: ''`.
 */
import type { AccessMode, LoginInput, LoginResult, StoredUser } from '../muvee/model.js';
import type { LoginPlan } from './record-login.js';
import type { CellText, ListLayout, ListPage } from './sqlite/users-list.js';

/**
 * `users list` built by the engine itself as UTF-8 batches, in one read snapshot (the local
 * file has it: store/sqlite/users-list.ts). Synchronous: call its methods inside `snapshot`.
 */
export interface BatchedUsersList {
  snapshot<T>(fn: () => T): T;
  listJson(page: ListPage): Iterable<Buffer>;
  listLayout(page: ListPage, text: CellText): ListLayout;
  listTable(page: ListPage, layout: ListLayout, text: CellText): Iterable<Buffer>;
}

/** muvee's four tables, as rows, for `users export --sql`. */
export interface ExportRows {
  users: Record<string, unknown>[];
  platformMembers: Record<string, unknown>[];
  invitations: Record<string, unknown>[];
  systemSettings: Record<string, unknown>[];
}

export interface UserStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The SQLite path, or the PostgreSQL URL with its password redacted. */
  readonly location: string;
  close(): Promise<void>;
  /** muvee's login, written (record-login.ts; the `--apply` path on PostgreSQL). */
  recordLogin(input: LoginInput): Promise<LoginResult>;
  /** muvee's login, read only: what `recordLogin` would do now (the same steps, simulated). */
  planLogin(input: LoginInput): Promise<LoginPlan>;
  findByEmail(email: string): Promise<StoredUser | undefined>;
  findById(id: string): Promise<StoredUser | undefined>;
  /** Users in list order (created, email); a page with `offset`/`limit`. */
  list(page?: ListPage): Promise<StoredUser[]>;
  /** The DingTalk unionIds this tool linked to a user (none on muvee's PostgreSQL). */
  unionIds(userId: string): Promise<string[]>;
  /** Where the engine can build `users list` itself (the local file); else use `list`. */
  readonly batchedList?: BatchedUsersList;
  /** muvee's tables as rows, where exporting them makes sense (the local file). */
  exportRows?(): Promise<ExportRows>;
  accessMode(): Promise<AccessMode>;
  setAccessMode(mode: AccessMode, now?: Date): Promise<void>;
  isInvited(email: string): Promise<boolean>;
  invitations(): Promise<{ email: string; createdAt: string }[]>;
  invite(email: string, now?: Date): Promise<boolean>;
  uninvite(email: string): Promise<boolean>;
  approve(userId: string, now?: Date): Promise<boolean>;
  setOverride(userId: string, field: 'name' | 'avatar', value: string | undefined): Promise<void>;
}

/** Where a login is written (a store, a dry run of one, or a test's fake). */
export interface LoginStore {
  /** Writes the login (or, for a dry run, says what writing it would do). */
  recordLogin(input: LoginInput): LoginResult | Promise<LoginResult>;
  close(): void | Promise<void>;
}

/** verify-token's lookup of a token's user by id. */
export interface UserLookup {
  find: (id: string) => StoredUser | undefined | Promise<StoredUser | undefined>;
  close: () => void | Promise<void>;
  /** Worker threads may each open their own lookup (a local file; not a server connection). */
  workers: boolean;
  /** The database could not be opened: why (each `find` throws it). */
  problem?: string;
}
