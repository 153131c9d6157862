/**
 * One contract, two stores: the same async cases against the SQLite store (store.ts, a temp
 * file, through user-store.ts's adapter) and muvee's PostgreSQL (pg-store.ts, a fresh database
 * with muvee's schema in a throwaway cluster). Without PostgreSQL binaries the PostgreSQL half
 * is reported skipped, with the reason, never passed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isCliError } from '../src/cli/errors.ts';
import { Store } from '../src/store/sqlite/store.ts';
import { Database } from '../src/store/sqlite/binding.ts';
import { openUserStore, sqliteUserStore, type UserStore } from '../src/store/index.ts';
import { tempDir } from './helpers.ts';
import { pgUnavailable, startCluster, type PgCluster } from './pg/cluster.ts';
import type { LoginInput } from '../src/muvee/model.ts';

type T = { after(fn: () => unknown): void };

interface Opened {
  store: UserStore;
  /** Writes system_settings.access_mode as is (muvee's UI could hold any text). */
  rawAccessMode(value: string): Promise<void>;
}

interface Backend {
  name: string;
  skip: string | undefined;
  setup(): Promise<void>;
  teardown(): void;
  open(t: T): Promise<Opened>;
}

const sqlite: Backend = {
  name: 'SQLite',
  skip: undefined,
  setup: async () => {},
  teardown: () => {},
  async open(t) {
    const path = join(tempDir(t), 'contract.db');
    const store = sqliteUserStore(Store.open(path));
    t.after(() => store.close());
    return {
      store,
      async rawAccessMode(value) {
        const db = new Database(path);
        db.prepare(
          `INSERT INTO system_settings (key, value, updated_at) VALUES ('access_mode', ?, 'now')
           ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        ).run(value);
        db.close();
      },
    };
  },
};

let cluster: PgCluster | undefined;
let databases = 0;
const postgres: Backend = {
  name: 'PostgreSQL',
  skip: pgUnavailable(),
  async setup() {
    cluster = await startCluster();
  },
  teardown: () => cluster?.stop(),
  async open(t) {
    const db = await cluster!.createMuveeDatabase(`contract_${++databases}`);
    const store = await openUserStore(cluster!.url(db));
    t.after(() => store.close());
    return {
      store,
      async rawAccessMode(value) {
        await cluster!.sql(
          `INSERT INTO system_settings (key, value) VALUES ('access_mode', $1)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
          [value],
          db,
        );
      },
    };
  },
};

const login = (email: string, extra: Partial<LoginInput> = {}): LoginInput => ({
  email,
  name: 'Name',
  avatarUrl: 'https://a/1.png',
  admin: false,
  unionId: `U-${email}`,
  ...extra,
});

const policyDenied = (e: unknown) =>
  isCliError(e) && e.code === 'policy-denied' && /not_invited/.test(e.message);

for (const backend of [sqlite, postgres]) {
  describe(`store contract: ${backend.name}`, () => {
    if (backend.skip) {
      // A skipped test (counted as such), not a skipped suite: the summary shows it.
      test(`${backend.name} cases`, { skip: backend.skip }, () => {});
      return;
    }
    before(() => backend.setup());
    after(() => backend.teardown());

    test('the store says what it is', async (t) => {
      const { store } = await backend.open(t);
      assert.equal(store.kind, backend === sqlite ? 'sqlite' : 'postgres');
      assert.ok(!store.location.includes(cluster?.superPassword ?? '\0'));
    });

    test('open (the default, also for an unknown value): everyone in, authorized', async (t) => {
      const { store, rawAccessMode } = await backend.open(t);
      assert.equal(await store.accessMode(), 'open');
      const r = await store.recordLogin(login('a@corp.example'));
      assert.equal(r.created, true);
      assert.equal(r.accessMode, 'open');
      assert.equal(r.user.role, 'member');
      assert.equal(r.user.authorized, true);
      assert.equal(r.user.member, true);
      assert.equal(r.user.legacyRole, 'member');
      await rawAccessMode('closed-for-lunch');
      assert.equal(await store.accessMode(), 'open');
      assert.equal((await store.recordLogin(login('b@corp.example'))).user.authorized, true);
    });

    test("muvee's upsert: id and created_at kept, name and avatar refreshed", async (t) => {
      const { store } = await backend.open(t);
      const first = await store.recordLogin(
        login('a@corp.example', { name: 'First', avatarUrl: 'https://a/1.png' }),
      );
      const second = await store.recordLogin(
        login('a@corp.example', { name: 'Second', avatarUrl: 'https://a/2.png' }),
      );
      assert.equal(second.created, false);
      assert.equal(second.user.id, first.user.id);
      assert.equal(second.user.createdAt, first.user.createdAt);
      assert.equal(second.user.name, 'Second');
      assert.equal(second.user.avatarUrl, 'https://a/2.png');
      assert.deepEqual(await store.findById(first.user.id), second.user);
      assert.equal((await store.list()).length, 1);
    });

    test('invite: a stranger is refused (policy-denied) and nothing is written', async (t) => {
      const { store } = await backend.open(t);
      await store.setAccessMode('invite');
      assert.equal(await store.accessMode(), 'invite');
      await assert.rejects(store.recordLogin(login('stranger@corp.example')), policyDenied);
      assert.deepEqual(await store.list(), []);
      assert.equal(await store.findByEmail('stranger@corp.example'), undefined);
    });

    test('invite: an invited email (any case, padded) gets in; an admin needs no invitation', async (t) => {
      const { store } = await backend.open(t);
      await store.setAccessMode('invite');
      assert.equal(await store.invite('  Invited@Corp.example '), true);
      assert.equal(await store.invite('invited@corp.example'), false, 'invited already');
      assert.deepEqual(
        (await store.invitations()).map((i) => i.email),
        ['invited@corp.example'],
      );
      assert.equal(await store.isInvited('INVITED@corp.example'), true);
      assert.equal((await store.recordLogin(login('invited@corp.example'))).user.authorized, true);
      const boss = await store.recordLogin(login('boss@corp.example', { admin: true }));
      assert.equal(boss.user.role, 'admin');
      assert.equal(boss.user.legacyRole, 'member', "users.role stays 'member'");
      assert.equal(await store.uninvite('Invited@corp.example'), true);
      assert.equal(await store.uninvite('invited@corp.example'), false);
      assert.deepEqual(await store.invitations(), []);
      // A member stays a member without the invitation.
      assert.equal((await store.recordLogin(login('invited@corp.example'))).user.authorized, true);
    });

    test('request: a new member waits for approval; approve lets them in; an admin is never pending', async (t) => {
      const { store } = await backend.open(t);
      await store.setAccessMode('request');
      const r = await store.recordLogin(login('new@corp.example'));
      assert.equal(r.created, true);
      assert.equal(r.user.member, true, 'a pending platform_members row exists');
      assert.equal(r.user.authorized, false);
      assert.equal((await store.recordLogin(login('new@corp.example'))).user.authorized, false);
      assert.equal(await store.approve(r.user.id), true);
      assert.equal((await store.findById(r.user.id))?.authorized, true);
      assert.equal(await store.approve(r.user.id), false, 'already authorized');
      assert.equal(
        (await store.recordLogin(login('boss@corp.example', { admin: true }))).user.authorized,
        true,
      );
    });

    test('invite: an existing unauthorized member who is now invited becomes authorized', async (t) => {
      const { store } = await backend.open(t);
      await store.setAccessMode('request');
      const pending = (await store.recordLogin(login('later@corp.example'))).user;
      assert.equal(pending.authorized, false);
      await store.setAccessMode('invite');
      assert.equal((await store.recordLogin(login('later@corp.example'))).user.authorized, false);
      await store.invite('later@corp.example');
      const r = await store.recordLogin(login('later@corp.example'));
      assert.equal(r.decision.authorizeByInvite, true);
      assert.equal(r.user.authorized, true);
      assert.equal(r.user.id, pending.id);
    });

    test('promotion on every login, never demotion; the role is the platform role', async (t) => {
      const { store } = await backend.open(t);
      assert.equal((await store.recordLogin(login('p@corp.example'))).user.role, 'member');
      const promoted = await store.recordLogin(login('p@corp.example', { admin: true }));
      assert.equal(promoted.promoted, true);
      assert.equal(promoted.user.role, 'admin');
      assert.equal(promoted.user.legacyRole, 'member');
      const again = await store.recordLogin(login('p@corp.example'));
      assert.equal(again.user.role, 'admin', 'not demoted when ADMIN_EMAILS no longer has it');
      assert.equal(again.promoted, false);
      const first = await store.recordLogin(login('boss@corp.example', { admin: true }));
      assert.equal(first.user.role, 'admin');
      assert.equal(first.promoted, false, 'a new admin is inserted admin, not promoted');
    });

    test('emails are exact: another case or padding is another user', async (t) => {
      const { store } = await backend.open(t);
      const a = await store.recordLogin(login('boss@corp.example'));
      const b = await store.recordLogin(login('Boss@corp.example'));
      const c = await store.recordLogin(login(' boss@corp.example'));
      assert.equal(new Set([a.user.id, b.user.id, c.user.id]).size, 3);
      assert.equal(c.user.email, ' boss@corp.example');
      assert.equal((await store.findByEmail('Boss@corp.example'))?.id, b.user.id);
      assert.equal(await store.findByEmail('BOSS@CORP.EXAMPLE'), undefined, 'two near matches');
      assert.equal((await store.list()).length, 3);
    });

    test('overrides: set keeps the value through logins, clear lets the next login refresh', async (t) => {
      const { store } = await backend.open(t);
      const { user } = await store.recordLogin(login('o@corp.example', { name: 'From DingTalk' }));
      await store.setOverride(user.id, 'name', 'Chosen');
      await store.setOverride(user.id, 'avatar', 'https://mine');
      const kept = await store.recordLogin(
        login('o@corp.example', { name: 'New nick', avatarUrl: 'https://a/9.png' }),
      );
      assert.equal(kept.user.name, 'Chosen');
      assert.equal(kept.user.avatarUrl, 'https://mine');
      assert.equal(kept.user.nameOverridden, true);
      await store.setOverride(user.id, 'name', undefined);
      const refreshed = await store.recordLogin(login('o@corp.example', { name: 'New nick' }));
      assert.equal(refreshed.user.name, 'New nick');
      assert.equal(refreshed.user.avatarUrl, 'https://mine');
    });

    test('planLogin says what recordLogin then does, and changes nothing itself', async (t) => {
      const { store } = await backend.open(t);
      const steps: [string, () => Promise<unknown>, LoginInput][] = [
        ['new member', async () => {}, login('a@corp.example')],
        ['same again', async () => {}, login('a@corp.example', { name: 'Renamed' })],
        ['promoted', async () => {}, login('a@corp.example', { admin: true })],
        ['request mode', () => store.setAccessMode('request'), login('r@corp.example')],
        ['new admin', async () => {}, login('boss@corp.example', { admin: true })],
        ['invite, stranger', () => store.setAccessMode('invite'), login('s@corp.example')],
        ['invite, pending member', () => store.invite('r@corp.example'), login('r@corp.example')],
        [
          'overridden name',
          async () => {
            const id = (await store.findByEmail('a@corp.example'))!.id;
            await store.setOverride(id, 'name', 'Mine');
          },
          login('a@corp.example', { name: 'Nick' }),
        ],
      ];
      for (const [label, arrange, input] of steps) {
        await arrange();
        const before = await store.list();
        const plan = await store.planLogin(input);
        assert.deepEqual(await store.list(), before, `${label}: planLogin wrote`);
        if (plan.refused) {
          await assert.rejects(store.recordLogin(input), policyDenied, label);
          assert.deepEqual(await store.list(), before, `${label}: a refusal wrote`);
          continue;
        }
        const result = await store.recordLogin(input);
        assert.equal(result.created, plan.user === 'new', label);
        if (plan.userId) assert.equal(result.user.id, plan.userId, label);
        assert.equal(result.user.role, plan.role, label);
        assert.equal(result.user.authorized, plan.authorized, label);
        assert.equal(result.user.name, plan.name, label);
        assert.equal(result.promoted, plan.promote, label);
        assert.deepEqual(result.decision, plan.decision, label);
      }
      const plan = await store.planLogin(login('a@corp.example', { name: 'Other' }));
      assert.equal(plan.nameKept, true);
      assert.equal(plan.name, 'Mine');
    });

    test('findById: unknown and malformed ids are undefined', async (t) => {
      const { store } = await backend.open(t);
      assert.equal(await store.findById('7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a'), undefined);
      assert.equal(await store.findById('not-a-uuid'), undefined);
    });
  });
}
