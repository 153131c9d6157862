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
  list(): Promise<StoredUser[]>;
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
}
