/**
 * The login flow in-process (src/login/flow.ts): the real emulator on port 0, this test as the
 * browser over HTTP, a fake clock (timeouts without waiting), an AbortController for Ctrl-C,
 * and a real SQLite store in a temp dir.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../src/config/config.ts';
import { startEmulator, type Emulator, type EmulatorOptions } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import { CliError, isCliError } from '../src/cli/errors.ts';
import { DingTalkClient } from '../src/dingtalk/client.ts';
import {
  BROWSER_GRACE_MS,
  runLoginFlow,
  type DingTalkApi,
  type LoginFlowInputs,
  type LoginStore,
  type PasteSource,
} from '../src/login/flow.ts';
import { emulatorProvider, type Provider } from '../src/login/provider.ts';
import { loginDocument } from '../src/login/report.ts';
import { Output } from '../src/cli/output.ts';
import { SESSION_TTL_SECONDS, verifySessionToken } from '../src/muvee/session.ts';
import { Store } from '../src/store/sqlite/store.ts';
import { FAKE_CLOCK_START, FakeClock } from './fixtures/fake-clock.ts';

const SECRET = 'login-flow-test-secret-0123456789abcdef0123';
const CREDENTIALS = { clientId: EMULATOR_CLIENT_ID, clientSecret: EMULATOR_CLIENT_SECRET };
/** Every test is fast; one that hangs fails instead of holding the run. */
const LIMIT = { timeout: 5_000 };
const START = FAKE_CLOCK_START;

interface Page {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request, no keep-alive, no redirects followed. */
function http(
  url: string,
  options: { method?: string; form?: URLSearchParams } = {},
): Promise<Page> {
  return new Promise((resolve, reject) => {
    const body = options.form?.toString();
    const req = request(
      url,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        agent: false,
        headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The person at the emulator's login page: approve as a user, or deny. Returns where DingTalk sends the browser. */
async function decide(authorizeUrl: string, decision: 'approve' | 'deny', user = 'zhangsan') {
  const url = new URL(authorizeUrl);
  const form = new URLSearchParams(url.searchParams);
  form.set('decision', decision);
  form.set('user', user);
  const answer = await http(`${url.origin}/oauth2/auth/decision`, { form });
  assert.equal(answer.status, 302, answer.body);
  return String(answer.headers.location);
}

interface Harness {
  emu: Emulator;
  dir: string;
  db: string;
  clock: FakeClock;
  out: Output;
  stdout: () => string;
  stderr: () => string;
  /** How often the flow opened the store. */
  storeOpens: () => number;
  inputs(overrides?: Partial<LoginFlowInputs>): LoginFlowInputs;
  /** The stored users (id and email), read back through the store. */
  users(): { id: string; email: string }[];
}

async function harness(
  t: TestContext,
  options: { env?: Record<string, string>; emulator?: EmulatorOptions; autoApprove?: string } = {},
): Promise<Harness> {
  const emu = await startEmulator(options.emulator);
  t.after(() => emu.close());
  const dir = mkdtempSync(join(tmpdir(), 'muvee-login-flow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'users.db');
  const config = loadConfig({ env: options.env ?? {}, cwd: dir });
  let stdout = '';
  let stderr = '';
  const out = new Output({
    json: false,
    color: false,
    env: {},
    stdout: { write: (text) => void (stdout += text), isTTY: false },
    stderr: { write: (text) => void (stderr += text), isTTY: false },
  });
  const clock = new FakeClock();
  let opens = 0;
  const provider: Provider = emulatorProvider(emu, options.autoApprove, CREDENTIALS);
  return {
    emu,
    dir,
    db,
    clock,
    out,
    stdout: () => stdout,
    stderr: () => stderr,
    storeOpens: () => opens,
    inputs: (overrides = {}) => ({
      config,
      provider,
      jwtSecret: SECRET,
      options: { timeoutSeconds: 300 },
      out,
      signal: new AbortController().signal,
      clock,
      openStore: async () => {
        opens++;
        return Store.open(db);
      },
      ...overrides,
    }),
    users() {
      const store = Store.openExisting(db);
      if (!store) return [];
      try {
        return store.list().map((u) => ({ id: u.id, email: u.email }));
      } finally {
        store.close();
      }
    },
  };
}

/** A browser opener that runs `act` on the authorize URL; `page` is the final page it got. */
function browser(act: (authorizeUrl: string) => Promise<Page>) {
  let page: Promise<Page> | undefined;
  let opened: string | undefined;
  return {
    // Not awaited: the callback listener holds the page until the login is over.
    open: async (url: string) => {
      opened = url;
      page = act(url);
      page.catch(() => {});
    },
    page: () => {
      assert.ok(page, 'the browser was never opened');
      return page;
    },
    url: () => opened,
  };
}

const approveAs = (user: string) => async (url: string) => http(await decide(url, 'approve', user));

function assertCliError(error: unknown, code: string, exitCode: number): CliError {
  assert.ok(isCliError(error), `expected a CliError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.equal(error.exitCode, exitCode);
  return error;
}

test(
  'zhangsan approves: stored as admin, the page comes after the write, the token verifies',
  LIMIT,
  async (t) => {
    const h = await harness(t, { env: { ADMIN_EMAILS: 'zhangsan@corp.example' } });
    const b = browser(approveAs('zhangsan'));
    const outcome = await runLoginFlow(h.inputs({ openBrowser: b.open }));

    assert.equal(outcome.email, 'zhangsan@corp.example');
    assert.equal(outcome.emailSource, 'profile');
    assert.equal(outcome.admission.admitted, true);
    assert.equal(outcome.role, 'admin');
    assert.equal(outcome.profile.unionId, 'emuUnionZhangsan0001');
    assert.equal(outcome.stored?.created, true);
    assert.equal(outcome.stored?.user.createdAt, new Date(START).toISOString());
    assert.equal(outcome.uid, outcome.stored?.user.id);
    assert.equal(outcome.stored?.user.role, 'admin');
    assert.deepEqual(h.users(), [{ id: outcome.uid, email: 'zhangsan@corp.example' }]);

    const page = await b.page();
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in with DingTalk/);
    assert.match(page.body, /zhangsan@corp\.example/);

    const iat = Math.floor(START / 1000);
    assert.equal(outcome.exp, iat + SESSION_TTL_SECONDS);
    const verified = verifySessionToken(outcome.token!, SECRET, { now: iat + 60 });
    assert.equal(verified.valid, true, verified.message);
    assert.deepEqual(verified.claims, {
      uid: outcome.uid,
      email: 'zhangsan@corp.example',
      role: 'admin',
      iat,
      exp: iat + SESSION_TTL_SECONDS,
    });
    assert.equal(
      verifySessionToken(outcome.token!, 'another-secret-0123456789abcdef0123').valid,
      false,
    );

    // The authorize URL went to stderr, with the emulator's registered loopback callback.
    const authorize = new URL(b.url()!);
    assert.ok(h.stderr().includes(b.url()!));
    assert.match(
      authorize.searchParams.get('redirect_uri')!,
      /^http:\/\/127\.0\.0\.1:\d+\/auth\/dingtalk\/callback$/,
    );
    assert.equal(h.clock.pending, 0, 'no timer left behind');
    assert.deepEqual(Object.keys(loginDocument(outcome)), [
      'email',
      'emailSource',
      'admitted',
      'admission',
      'warnings',
      'role',
      'profile',
      'user',
      'sessionToken',
      'session',
    ]);
  },
);

test(
  'lisi (no email), approved headlessly: the synthetic address passes ALLOWED_DOMAINS',
  LIMIT,
  async (t) => {
    const h = await harness(t, {
      env: { ALLOWED_DOMAINS: 'corp.example' },
      emulator: { autoApprove: 'lisi' },
      autoApprove: 'lisi',
    });
    let pasteRead = false;
    const outcome = await runLoginFlow(
      h.inputs({
        openBrowser: async () => assert.fail('no browser when the emulator approves by itself'),
        paste: () => {
          pasteRead = true;
          return (async function* () {})();
        },
      }),
    );
    assert.equal(outcome.email, 'emuUnionLisi00000002@dingtalk.local');
    assert.equal(outcome.emailSource, 'synthetic');
    assert.match(outcome.emailNote ?? '', /no email/);
    assert.equal(outcome.role, 'member');
    assert.deepEqual(
      h.users().map((u) => u.email),
      ['emuUnionLisi00000002@dingtalk.local'],
    );
    assert.equal(pasteRead, false, 'stdin is never opened when the tool approves itself');
    assert.match(h.stderr(), /approving as 'lisi' without a browser/);
  },
);

test(
  'wangwu outside ALLOWED_DOMAINS: policy-denied, profile printed first, nothing stored, 403 page',
  LIMIT,
  async (t) => {
    const h = await harness(t, { env: { ALLOWED_DOMAINS: 'corp.example' } });
    const b = browser(approveAs('wangwu'));
    const error = await runLoginFlow(h.inputs({ openBrowser: b.open })).then(
      () => assert.fail('the login must be refused'),
      (e: unknown) => e,
    );
    const refused = assertCliError(error, 'policy-denied', 6);
    assert.match(refused.message, /wangwu@gmail\.example/);
    assert.equal(h.storeOpens(), 0);
    assert.deepEqual(h.users(), []);
    const page = await b.page();
    assert.equal(page.status, 403);
    assert.match(page.body, /Sign-in failed/);
    // The profile and the verdict, for the person to see why.
    assert.match(h.stdout(), /Profile/);
    assert.match(h.stdout(), /email\s+wangwu@gmail\.example/);
    assert.match(h.stdout(), /admitted\s+no: 'gmail\.example' is not in ALLOWED_DOMAINS/);
  },
);

test(
  'consent denied: consent-denied (exit 3), failure page naming access_denied',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const b = browser(async (url) => http(await decide(url, 'deny')));
    await assert.rejects(runLoginFlow(h.inputs({ openBrowser: b.open })), (e: unknown) => {
      assertCliError(e, 'consent-denied', 3);
      return true;
    });
    const page = await b.page();
    assert.equal(page.status, 403);
    assert.match(page.body, /access_denied/);
    assert.equal(h.emu.hits.userAccessToken, 0, 'no code exchange after a denial');
    assert.equal(h.storeOpens(), 0);
  },
);

test(
  'timeout: the fake clock runs out, error timeout (exit 4), no real waiting',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const started = Date.now();
    let settled: string | undefined;
    const flow = runLoginFlow(h.inputs({ options: { timeoutSeconds: 300 } })).then(
      () => (settled = 'resolved'),
      (e: unknown) => {
        settled = 'rejected';
        throw e;
      },
    );
    await h.clock.scheduled();
    h.clock.advance(299_999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, undefined, 'still waiting 1 ms before the deadline');
    h.clock.advance(1);
    await assert.rejects(flow, (e: unknown) => {
      const error = assertCliError(e, 'timeout', 4);
      assert.match(error.message, /no callback within 5m/);
      return true;
    });
    assert.ok(Date.now() - started < 1000, 'the timeout took no real time');
    assert.equal(h.clock.pending, 0);
    assert.match(h.stderr(), /waiting up to 5m for the callback/);
  },
);

test(
  'Ctrl-C while waiting: interrupted (exit 130), nothing stored, the listener is closed',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const ctrlC = new AbortController();
    const b = browser(async () => ({ status: 0, headers: {}, body: '' })); // opens, nobody approves
    const flow = runLoginFlow(h.inputs({ openBrowser: b.open, signal: ctrlC.signal }));
    await h.clock.scheduled();
    ctrlC.abort('SIGINT');
    await assert.rejects(flow, (e: unknown) => {
      const error = assertCliError(e, 'interrupted', 130);
      assert.match(error.message, /nothing was stored/);
      return true;
    });
    assert.equal(h.storeOpens(), 0);
    assert.equal(h.clock.pending, 0, 'the timeout timer was cleared');
    const callback = new URL(new URL(b.url()!).searchParams.get('redirect_uri')!);
    await assert.rejects(http(callback.toString()), { code: 'ECONNREFUSED' });
  },
);

test(
  'Ctrl-C during the DingTalk calls: interrupted at once, and the profile that still arrives is never stored',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const ctrlC = new AbortController();
    let profileArrived = false;
    // The real client, except that Ctrl-C comes while the profile is on its way.
    const dingtalk = (apiBase: string): DingTalkApi => {
      const client = new DingTalkClient({ apiBase });
      return {
        exchangeCode: (code, credentials) => client.exchangeCode(code, credentials),
        getProfile: async (accessToken) => {
          const profile = await client.getProfile(accessToken);
          ctrlC.abort('SIGINT');
          await new Promise((resolve) => setImmediate(resolve)); // the flow ends meanwhile
          profileArrived = true;
          return profile;
        },
        close: () => client.close(),
      };
    };
    const b = browser(approveAs('zhangsan'));
    await assert.rejects(
      runLoginFlow(h.inputs({ openBrowser: b.open, signal: ctrlC.signal, dingtalk })),
      (e: unknown) => assertCliError(e, 'interrupted', 130) !== undefined,
    );
    const page = await b.page();
    assert.equal(page.status, 500);
    assert.match(page.body, /cancelled/);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the abandoned flow runs out
    assert.equal(profileArrived, true);
    assert.equal(h.storeOpens(), 0);
    assert.deepEqual(h.users(), []);
  },
);

test('an aborted signal before the start: interrupted, nothing bound', LIMIT, async (t) => {
  const h = await harness(t);
  const ctrlC = new AbortController();
  ctrlC.abort('SIGINT');
  await assert.rejects(runLoginFlow(h.inputs({ signal: ctrlC.signal })), { code: 'interrupted' });
  assert.equal(h.stderr(), '', 'no URL printed');
});

test(
  'a wrong state, a missing one and a POST are refused with the wait going on; then the right callback',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const refused: Page[] = [];
    const b = browser(async (url) => {
      const callback = new URL(new URL(url).searchParams.get('redirect_uri')!);
      refused.push(await http(`${callback}?authCode=forged&state=wrong`));
      refused.push(await http(`${callback}?authCode=forged`));
      refused.push(await http(`${callback}?authCode=forged&state=x`, { method: 'POST' }));
      return http(await decide(url, 'approve', 'zhangsan'));
    });
    const outcome = await runLoginFlow(h.inputs({ openBrowser: b.open }));
    assert.deepEqual(
      refused.map((p) => p.status),
      [400, 400, 405],
    );
    assert.match(refused[0]!.body, /state parameter does not match/);
    assert.match(refused[0]!.body, /still waiting/);
    assert.equal((await b.page()).status, 200);
    assert.equal(outcome.email, 'zhangsan@corp.example');
    assert.equal(h.emu.hits.userAccessToken, 1, 'only the right code was exchanged');
  },
);

test(
  'the redirect URL is elsewhere: the landed URL pasted (after a line that is not one) completes',
  LIMIT,
  async (t) => {
    const redirect = 'https://muvee.corp.example/auth/dingtalk/callback';
    const h = await harness(t, { env: { DINGTALK_REDIRECT_URL: redirect } });
    h.emu.registerRedirectUri(redirect);
    // Real DingTalk mode (no listener can be bound for muvee's domain), played by the emulator.
    const provider: Provider = {
      loginBase: h.emu.url,
      apiBase: h.emu.url,
      credentials: CREDENTIALS,
      emulator: undefined,
      autoApprove: undefined,
    };
    const lines: string[] = [];
    let wake: () => void = () => {};
    let finished = false;
    const paste: PasteSource = () =>
      (async function* () {
        try {
          for (;;) {
            while (lines.length === 0) await new Promise<void>((resolve) => (wake = resolve));
            yield lines.shift()!;
          }
        } finally {
          finished = true;
        }
      })();
    const type = (text: string) => {
      lines.push(text);
      wake();
    };
    const b = browser(async (url) => {
      const landed = await decide(url, 'approve', 'zhangsan');
      assert.match(landed, /^https:\/\/muvee\.corp\.example\/auth\/dingtalk\/callback\?/);
      type('not a url at all\n');
      // Two chunks, split inside the URL: lines are put together before they are read.
      type(landed.slice(0, 30));
      type(`${landed.slice(30)}\n`);
      return { status: 0, headers: {}, body: '' };
    });
    const outcome = await runLoginFlow(h.inputs({ provider, openBrowser: b.open, paste }));
    assert.equal(outcome.email, 'zhangsan@corp.example');
    assert.equal(h.users().length, 1);
    assert.match(h.stderr(), /paste it here/);
    assert.match(h.stderr(), /not accepted: that is neither a URL nor a code/);
    type('\n'); // lets the generator reach its pending return
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(finished, true, 'the paste input was told to finish');
  },
);

test(
  'a pasted URL with a forged state is refused; the wait goes on until the timeout',
  LIMIT,
  async (t) => {
    const redirect = 'https://muvee.corp.example/auth/dingtalk/callback';
    const h = await harness(t, { env: { DINGTALK_REDIRECT_URL: redirect } });
    const provider: Provider = {
      ...emulatorProvider(h.emu, undefined, CREDENTIALS),
      emulator: undefined,
    };
    const paste: PasteSource = () =>
      (async function* () {
        yield `${redirect}?authCode=abc&state=forged\n`;
      })();
    const flow = runLoginFlow(h.inputs({ provider, paste }));
    await h.clock.scheduled();
    await new Promise((resolve) => setImmediate(resolve));
    h.clock.advance(300_000);
    await assert.rejects(flow, { code: 'timeout' });
    assert.match(h.stderr(), /not accepted: the state parameter does not match/);
    assert.equal(h.emu.hits.userAccessToken, 0);
  },
);

test(
  'a code spent before the tool exchanges it: dingtalk-refused (exit 3) with the hint, 403 page',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const b = browser(async (url) => {
      const landed = new URL(await decide(url, 'approve', 'zhangsan'));
      // Someone else exchanges the code first (a replayed callback, a second tab).
      const spend = await fetch(`${h.emu.url}/v1.0/oauth2/userAccessToken`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...CREDENTIALS,
          code: landed.searchParams.get('authCode'),
          grantType: 'authorization_code',
        }),
      });
      assert.equal(spend.status, 200);
      return http(landed.toString());
    });
    await assert.rejects(runLoginFlow(h.inputs({ openBrowser: b.open })), (e: unknown) => {
      const error = assertCliError(e, 'dingtalk-refused', 3);
      assert.match(error.message, /invalidParameter\.authCode\.notFound/);
      assert.match(error.message, /already used or expired/);
      return true;
    });
    const page = await b.page();
    assert.equal(page.status, 403);
    assert.match(page.body, /authCode\.notFound/);
    assert.equal(h.storeOpens(), 0);
  },
);

test('an expired code: dingtalk-refused, nothing stored', LIMIT, async (t) => {
  const h = await harness(t, { emulator: { codeTtlMs: -1 } });
  const b = browser(approveAs('zhangsan'));
  await assert.rejects(runLoginFlow(h.inputs({ openBrowser: b.open })), (e: unknown) => {
    const error = assertCliError(e, 'dingtalk-refused', 3);
    assert.equal(error.details?.dingtalkCode, 'invalidParameter.authCode.notFound');
    return true;
  });
  assert.equal(h.emu.hits.usersMe, 0);
  assert.deepEqual(h.users(), []);
});

test(
  'the DB write fails: db-error, no user row, a 500 failure page, the store closed',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    // The write fails the way the store reports it (SQLite's error wrapped with the path).
    let closed = false;
    const openStore = async (): Promise<LoginStore> => ({
      recordLogin: () => {
        throw new CliError('db-error', `database '${h.db}' failed: disk on fire`);
      },
      close: () => void (closed = true),
    });
    const b = browser(approveAs('zhangsan'));
    await assert.rejects(
      runLoginFlow(h.inputs({ openBrowser: b.open, openStore })),
      (e: unknown) => {
        const error = assertCliError(e, 'db-error', 1);
        assert.match(error.message, /disk on fire/);
        return true;
      },
    );
    assert.equal(closed, true);
    assert.deepEqual(h.users(), []);
    const page = await b.page();
    assert.equal(page.status, 500);
    assert.match(page.body, /disk on fire/);
  },
);

test(
  'without a store (--no-store): nothing written, the token still minted for a fresh uid',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const b = browser(approveAs('zhangsan'));
    const outcome = await runLoginFlow(h.inputs({ openBrowser: b.open, openStore: undefined }));
    assert.equal(outcome.stored, undefined);
    assert.match(
      outcome.uid!,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const verified = verifySessionToken(outcome.token!, SECRET, { now: Math.floor(START / 1000) });
    assert.equal(verified.claims?.uid, outcome.uid);
    assert.equal(loginDocument(outcome).user, null);
    assert.deepEqual(h.users(), []);
  },
);

test('a browser that cannot open: a warning, and the wait goes on', LIMIT, async (t) => {
  const h = await harness(t);
  const flow = runLoginFlow(
    h.inputs({
      openBrowser: async (url) => {
        void http(await decide(url, 'approve', 'zhangsan')).catch(() => {});
        throw new Error('xdg-open: not found');
      },
    }),
  );
  const outcome = await flow;
  assert.equal(outcome.email, 'zhangsan@corp.example');
  assert.match(h.stderr(), /could not open a browser; open the URL above yourself/);
});

test(
  'a browser that cannot open: an emulator run approves by itself (issue 22)',
  LIMIT,
  async (t) => {
    for (const [label, opener] of [
      [
        'the launcher exits with an error',
        async () => ({ failed: Promise.resolve('xdg-open exited with status 3') }),
      ],
      ['the launcher cannot start', async () => Promise.reject(new Error('spawn xdg-open ENOENT'))],
    ] as const) {
      const h = await harness(t);
      const provider = { ...emulatorProvider(h.emu, undefined, CREDENTIALS), headlessUser: 'lisi' };
      const outcome = await runLoginFlow(h.inputs({ provider, openBrowser: opener }));
      assert.match(outcome.email, /@dingtalk\.local$/, label);
      assert.match(h.stderr(), /could not open a browser .*approving as 'lisi'/, label);
      assert.equal(h.clock.pending, 0, `${label}: no timer left behind`);
    }
  },
);

test(
  'a launcher that succeeds while no browser loads the page: approved after 10 s',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    const provider = {
      ...emulatorProvider(h.emu, undefined, CREDENTIALS),
      headlessUser: 'zhangsan',
    };
    let settled = false;
    const flow = runLoginFlow(
      h.inputs({ provider, openBrowser: async () => ({ failed: new Promise<string>(() => {}) }) }),
    ).finally(() => (settled = true));
    await h.clock.scheduled();
    h.clock.advance(BROWSER_GRACE_MS - 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'still waiting for a browser before the grace period ends');
    h.clock.advance(1);
    const outcome = await flow;
    assert.equal(outcome.email, 'zhangsan@corp.example');
    assert.match(h.stderr(), /no browser loaded the login page within 10 s/);
  },
);

test(
  'real DingTalk and a browser that cannot open: a warning, and the wait goes on',
  LIMIT,
  async (t) => {
    const h = await harness(t);
    // Not an emulator run for the flow: nobody may approve in the user's name.
    const provider: Provider = {
      ...emulatorProvider(h.emu, undefined, CREDENTIALS),
      emulator: undefined,
    };
    let settled = false;
    const flow = runLoginFlow(
      h.inputs({ provider, openBrowser: async () => ({ failed: Promise.resolve('no display') }) }),
    ).finally(() => (settled = true));
    flow.catch(() => {});
    await h.clock.scheduled();
    h.clock.advance(60_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
    assert.match(
      h.stderr(),
      /could not open a browser; open the URL above yourself \(no display\)/,
    );
    h.clock.advance(240_000);
    await assert.rejects(flow, (e: unknown) => assertCliError(e, 'timeout', 4) !== undefined);
  },
);
