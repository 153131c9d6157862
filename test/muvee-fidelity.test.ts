/**
 * Each case where muvee's server code decides something the tool used to get wrong or keep
 * quiet about (issue "Say exactly what muvee would do"; shared/muvee-server.md §1–2): a real
 * login against the emulator, in-process, with this test as the browser.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { BUILTIN_USERS, type EmulatorUser } from '../src/emulator/users.ts';
import { Store } from '../src/store/sqlite/store.ts';
import { json, loginAs, tempDir } from './helpers.ts';

const user = (id: string, email: string | undefined, unionId = `emuUnion-${id}`): EmulatorUser => ({
  id,
  nick: id,
  unionId,
  openId: `emuOpen-${id}`,
  ...(email === undefined ? {} : { email }),
});

interface Doc {
  email: string;
  emailSource: string;
  admitted: boolean;
  admission: { documented: { admitted: boolean }; server: { admitted: boolean }; rules: string };
  warnings: string[];
  role: string;
  user: { id: string; email: string } | null;
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

describe("muvee's real rules, login by login", () => {
  let emu: Emulator;
  let dir: string;
  before(async () => {
    emu = await startEmulator({
      users: [
        ...BUILTIN_USERS,
        user('boss', 'boss@corp.example'),
        user('padded', '  Boss@Corp.Example '),
        user('localhost', 'user@localhost'),
        user('notemail', 'not-an-email'),
        user('outside', 'x@gmail.example'),
        user('nounion', 'nounion@corp.example', ''),
      ],
    });
    dir = tempDir();
  });
  after(() => emu.close());

  async function login(
    who: string,
    options: { env?: Record<string, string>; args?: string[]; db?: string } = {},
  ): Promise<{ code: number | null; doc: Doc; stderr: string; db: string }> {
    const result = await loginAs(emu, who, {
      ...options,
      cwd: dir,
      args: ['--json', ...(options.args ?? [])],
    });
    return { code: result.code, doc: json<Doc>(result), stderr: result.stderr, db: result.db };
  }

  test('ADMIN_EMAILS=Boss@corp.example, profile boss@corp.example: member (exact), with a hint', async () => {
    const { code, doc } = await login('boss', { env: { ADMIN_EMAILS: 'Boss@corp.example' } });
    assert.equal(code, 0);
    assert.equal(doc.role, 'member');
    assert.match(doc.warnings.join('\n'), /differs from 'boss@corp\.example' only in case/);
  });

  test('profile email "  Boss@Corp.Example ": used as sent, its own row, with warnings', async () => {
    const db = join(dir, 'padded.db');
    const first = await login('boss', { db });
    const { code, doc } = await login('padded', { db });
    assert.equal(code, 0);
    assert.equal(doc.email, '  Boss@Corp.Example ');
    assert.equal(doc.emailSource, 'profile');
    assert.notEqual(doc.user!.id, first.doc.user!.id, 'another user than boss@corp.example');
    assert.match(doc.warnings.join('\n'), /spaces/);
    assert.match(doc.warnings.join('\n'), /capital letters/);
  });

  for (const [who, email, warning] of [
    ['localhost', 'user@localhost', /no dot/],
    ['notemail', 'not-an-email', /not an email address/],
  ] as const) {
    test(`profile email ${email}: used as sent, not replaced by a synthetic one`, async () => {
      const { code, doc } = await login(who);
      assert.equal(code, 0);
      assert.equal(doc.email, email);
      assert.equal(doc.emailSource, 'profile');
      assert.match(doc.warnings.join('\n'), warning);
    });
  }

  test('another domain with ALLOWED_DOMAINS set: the documented rule refuses, and says the server admits', async () => {
    const { code, doc, db } = await login('outside', { env: { ALLOWED_DOMAINS: 'corp.example' } });
    assert.equal(code, 6);
    assert.equal(doc.error!.code, 'policy-denied');
    assert.match(doc.error!.message, /server code .* would admit this person all the same/);
    const admission = doc.error!.details!.admission as Doc['admission'];
    assert.equal(admission.documented.admitted, false);
    assert.equal(admission.server.admitted, true);
    assert.equal(Store.openExisting(db)?.list().length ?? 0, 0, 'nothing stored');
  });

  test("--rules server (or MUVEE_DINGTALK_RULES=server): admitted, as muvee's server does", async () => {
    const runs: { args?: string[]; env: Record<string, string> }[] = [
      { args: ['--rules', 'server'], env: { ALLOWED_DOMAINS: 'corp.example' } },
      { env: { ALLOWED_DOMAINS: 'corp.example', MUVEE_DINGTALK_RULES: 'server' } },
    ];
    for (const options of runs) {
      const { code, doc } = await login('outside', options);
      assert.equal(code, 0);
      assert.equal(doc.admitted, true);
      assert.equal(doc.admission.rules, 'server');
      assert.equal(doc.admission.documented.admitted, false);
    }
  });

  test('profile 403 (no Contact.User.Read): exit 3, and says muvee signs in as the shared @dingtalk.local', async () => {
    const { code, doc } = await login('zhaoliu');
    assert.equal(code, 3);
    assert.match(
      doc.error!.message,
      /'@dingtalk\.local', one account shared by every such person: add Contact\.User\.Read/,
    );
    assert.match(String(doc.error!.details!.muvee), /@dingtalk\.local/);
  });

  test('profile 200 without unionId and email: exit 4, and says what muvee does', async () => {
    emu.setFault('usersMe', {
      status: 200,
      body: '{"nick":"nobody","openId":"emulated"}',
      times: 1,
    });
    const { code, doc } = await login('zhangsan');
    assert.equal(code, 4);
    assert.match(
      doc.error!.message,
      /muvee itself would sign this person in as '@dingtalk\.local'/,
    );
  });

  test('profile with an email but no unionId: signed in, as muvee does', async () => {
    const { code, doc } = await login('nounion');
    assert.equal(code, 0, JSON.stringify(doc));
    assert.equal(doc.email, 'nounion@corp.example');
    assert.ok(doc.user);
  });

  test('code exchange HTTP 500 whose body has accessToken: exit 4, and says muvee would go on', async () => {
    emu.setFault('userAccessToken', {
      status: 500,
      body: JSON.stringify({
        code: 'InternalError',
        message: 'x',
        accessToken: 'tok',
        expireIn: 7200,
      }),
      times: 1,
    });
    const { code, doc } = await login('zhangsan');
    assert.equal(code, 4);
    assert.match(doc.error!.message, /muvee itself would accept this answer/);
  });

  test('callback code=A&authCode=B: code is exchanged (as muvee does), and it says so', async () => {
    emu.setFault('authorize', { splitCode: true, times: 1 });
    const { code, doc } = await login('zhangsan');
    assert.equal(code, 0, JSON.stringify(doc));
    assert.match(doc.warnings.join('\n'), /muvee exchanges code/);
  });

  test('access mode invite: a stranger is refused (not_invited), nothing written; invited gets in', async () => {
    const db = join(dir, 'invite.db');
    const store = Store.open(db);
    store.setAccessMode('invite');
    store.close();
    const refused = await login('zhangsan', { db });
    assert.equal(refused.code, 6);
    assert.match(refused.doc.error!.message, /not_invited/);
    const again = Store.open(db);
    assert.equal(again.list().length, 0);
    again.invite('zhangsan@corp.example');
    again.close();
    assert.equal((await login('zhangsan', { db })).code, 0);
  });

  test('access mode request: a new member is stored pending', async () => {
    const db = join(dir, 'request.db');
    const store = Store.open(db);
    store.setAccessMode('request');
    store.close();
    const { code, doc } = await login('zhangsan', { db });
    assert.equal(code, 0);
    const stored = Store.open(db);
    assert.equal(stored.findById(doc.user!.id)?.authorized, false);
    stored.close();
  });

  test("a second DingTalk account with an existing user's email takes it over, loudly", async () => {
    const db = join(dir, 'takeover.db');
    const first = await login('boss', { db });
    // Another DingTalk account whose profile says the same email.
    const other: EmulatorUser = user('impostor', 'boss@corp.example', 'emuUnion-impostor');
    const emu2 = await startEmulator({ users: [other] });
    try {
      const doc = json<Doc>(await loginAs(emu2, 'impostor', { cwd: dir, db, args: ['--json'] }));
      assert.equal(doc.user!.id, first.doc.user!.id, "muvee's outcome: the same user");
      assert.match(
        doc.warnings.join('\n'),
        /belonged to DingTalk account emuUnion-boss; muvee signs this account \(emuUnion-impostor\) in as the same user/,
      );
    } finally {
      await emu2.close();
    }
  });
});

test('the emulator faults for the lenient paths parse', async () => {
  const { parseFaultSpec } = await import('../src/emulator/faults.ts');
  const [, token] = parseFaultSpec('userAccessToken=500,with-token');
  assert.equal(token.status, 500);
  assert.equal(JSON.parse(token.body!).accessToken, 'emulated-token-in-an-error');
  const [, email] = parseFaultSpec('usersMe=email-only');
  assert.equal(JSON.parse(email.body!).unionId, undefined);
  assert.equal(JSON.parse(email.body!).email, 'emailonly@corp.example');
  assert.deepEqual(parseFaultSpec('authorize=split-code'), ['authorize', { splitCode: true }]);
});
