/**
 * Issue 12, finding 12: what a person at a terminal sees while a login waits. The flow runs
 * in-process against the real emulator with a fake clock; stderr is a buffer that says it is
 * a terminal (or not).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../src/config/config.ts';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import { runLoginFlow, type LoginFlowInputs, type PasteSource } from '../src/login/flow.ts';
import { emulatorProvider } from '../src/login/provider.ts';
import { rejectionReporter } from '../src/login/wait.ts';
import { Output } from '../src/cli/output.ts';
import { FakeClock } from './fixtures/fake-clock.ts';

const SECRET = 'safety-progress-test-secret-0123456789abcdef';
const LIMIT = { timeout: 5_000 };

function get(url: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    })
      .on('error', reject)
      .end();
  });
}

async function approve(authorizeUrl: string): Promise<void> {
  const url = new URL(authorizeUrl);
  const form = new URLSearchParams(url.searchParams);
  form.set('decision', 'approve');
  form.set('user', 'zhangsan');
  const location = await new Promise<string>((resolve, reject) => {
    const req = request(
      `${url.origin}/oauth2/auth/decision`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        res.resume();
        resolve(String(res.headers.location));
      },
    );
    req.on('error', reject);
    req.end(form.toString());
  });
  void get(location).catch(() => {});
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function setup(t: TestContext, options: { tty: boolean; json?: boolean }) {
  const emu: Emulator = await startEmulator();
  t.after(() => emu.close());
  let stderr = '';
  let stdout = '';
  const out = new Output({
    json: options.json ?? false,
    color: false,
    env: {},
    stdout: { write: (text) => void (stdout += text), isTTY: options.tty },
    stderr: { write: (text) => void (stderr += text), isTTY: options.tty },
  });
  const clock = new FakeClock();
  const abort = new AbortController();
  t.after(() => abort.abort('SIGINT')); // a failed test leaves no flow (and listener) behind
  const inputs = (overrides: Partial<LoginFlowInputs> = {}): LoginFlowInputs => ({
    config: loadConfig({ env: {}, cwd: '/' }),
    provider: emulatorProvider(emu, undefined, {
      clientId: EMULATOR_CLIENT_ID,
      clientSecret: EMULATOR_CLIENT_SECRET,
    }),
    jwtSecret: SECRET,
    options: { timeoutSeconds: 300 },
    out,
    signal: abort.signal,
    clock,
    ...overrides,
  });
  return { emu, out, clock, abort, inputs, stderr: () => stderr, stdout: () => stdout };
}

const STEPS = [
  'opening the browser…',
  'waiting for the callback…',
  'exchanging the code with DingTalk…',
  'fetching the profile…',
];

test(
  'a terminal hears about every wait: browser, callback, code exchange, profile',
  LIMIT,
  async (t) => {
    const h = await setup(t, { tty: true });
    const outcome = await runLoginFlow(h.inputs({ openBrowser: approve }));
    assert.equal(outcome.email, 'zhangsan@corp.example');
    let at = -1;
    for (const step of STEPS) {
      const found = h.stderr().indexOf(step);
      assert.ok(found > at, `'${step}' after the previous step in:\n${h.stderr()}`);
      at = found;
    }
  },
);

for (const [name, options] of [
  ['stderr not a terminal', { tty: false }],
  ['--json', { tty: true, json: true }],
] as const) {
  test(`quiet progress when ${name}`, LIMIT, async (t) => {
    const h = await setup(t, options);
    await runLoginFlow(h.inputs({ openBrowser: approve }));
    for (const step of STEPS) assert.ok(!h.stderr().includes(step), `${step} in:\n${h.stderr()}`);
    assert.doesNotMatch(h.stderr(), /\x1b\[2K/, 'no spinner');
  });
}

test('a browser that cannot open says so', LIMIT, async (t) => {
  const h = await setup(t, { tty: true });
  await runLoginFlow(
    h.inputs({
      openBrowser: async (url) => {
        await approve(url);
        throw new Error('no xdg-open');
      },
    }),
  );
  assert.match(h.stderr(), /opening the browser…/);
  assert.match(h.stderr(), /could not open a browser; open the URL above yourself/);
});

test('refused callbacks: one sanitised line each, at most one a second', LIMIT, async (t) => {
  const h = await setup(t, { tty: false });
  let callback = '';
  let authorize = '';
  const flow = runLoginFlow(
    h.inputs({
      openBrowser: async (url) => {
        authorize = url;
        callback = new URL(url).searchParams.get('redirect_uri')!;
      },
    }),
  );
  while (!callback) await tick();
  assert.equal((await get(`${callback}?authCode=x&state=wrong`)).status, 400);
  assert.equal((await get(`${callback}?authCode=x&state=wrong2`)).status, 400);
  assert.equal((await get(`${callback}?authCode=x`)).status, 400);
  const lines = () =>
    h
      .stderr()
      .split('\n')
      .filter((l) => l.includes('refused a request'));
  assert.equal(lines().length, 1, h.stderr());
  assert.match(lines()[0]!, /400 .*state parameter does not match.*still waiting/);
  // A second later: the next one is told, with the count of those in between.
  h.clock.advance(1000);
  assert.equal((await get(`${callback}?authCode=x&state=again`)).status, 400);
  assert.equal(lines().length, 2, h.stderr());
  assert.match(lines()[1]!, /and 2 more refused before it/);
  assert.ok(!h.stderr().includes('\x1b'), 'no raw control character reaches the terminal');
  // A favicon is not news.
  h.clock.advance(1000);
  await get(new URL('/favicon.ico', callback).toString());
  assert.equal(lines().length, 2);
  await approve(authorize);
  assert.equal((await flow).email, 'zhangsan@corp.example');
});

test('a refused request is told on one line without control characters', () => {
  const told: string[] = [];
  let now = 0;
  const report = rejectionReporter(
    (text) => told.push(text),
    () => now,
  );
  report(400, 'bad \x1b[2J\x1b]0;pwned\x07 thing\nsecond line', '/cb\x1b[31m');
  assert.equal(told.length, 1);
  assert.ok(!/[\x00-\x1f\x7f]/.test(told[0]!), JSON.stringify(told[0]));
  assert.match(told[0]!, /\\x1b\[2J/);
  report(400, 'x'.repeat(5000), '/cb');
  now = 5000;
  report(400, 'y'.repeat(5000), '/cb');
  assert.equal(told.length, 2);
  assert.ok(told[1]!.length < 400, 'a long reason is cut');
  assert.match(told[1]!, /and 1 more refused before it/);
});

/** A paste source the test types into, a line at a time. */
function typist(isTTY: boolean) {
  const lines: string[] = [];
  let wake: () => void = () => {};
  const source: PasteSource = () =>
    Object.assign(
      (async function* () {
        for (;;) {
          while (lines.length === 0) await new Promise<void>((resolve) => (wake = resolve));
          yield lines.shift()!;
        }
      })(),
      { isTTY },
    );
  return {
    source,
    type(text: string) {
      lines.push(text);
      wake();
    },
  };
}

test('someone may be typing a paste on the terminal: nothing redraws over it', LIMIT, async (t) => {
  const h = await setup(t, { tty: true });
  const keys = typist(true);
  const flow = runLoginFlow(h.inputs({ paste: keys.source, openBrowser: async () => {} }));
  flow.catch(() => {});
  while (!h.stderr().includes('waiting for the callback')) await tick();
  const from = h.stderr().length;
  h.clock.advance(2000); // ~16 spinner frames' worth of time
  assert.equal(h.stderr().slice(from), '', 'nothing drawn while a person may be typing');
  assert.doesNotMatch(h.stderr(), /\x1b\[2K/, 'no line is ever cleared');
  // A refused paste: the warning, then the waiting line again.
  keys.type('not a url\n');
  while (!h.stderr().includes('not accepted')) await tick();
  await tick();
  const after = h.stderr().slice(h.stderr().indexOf('not accepted'));
  assert.match(after, /\n.*waiting for the callback…/, after);
  h.abort.abort('SIGINT');
  await assert.rejects(flow, { code: 'interrupted' });
});

test('the spinner steps aside for input and comes back after a refused paste', LIMIT, async (t) => {
  const h = await setup(t, { tty: true });
  const keys = typist(false);
  const flow = runLoginFlow(h.inputs({ paste: keys.source, openBrowser: async () => {} }));
  flow.catch(() => {});
  while (!h.stderr().includes('waiting for the callback')) await tick();
  h.clock.advance(500);
  keys.type('not a url\n');
  while (!h.stderr().includes('not accepted')) await tick();
  await tick();
  const warned = h.stderr().indexOf('not accepted');
  // The warning starts on a clean line (the spinner was cleared, not written over).
  assert.equal(h.stderr().slice(warned - 6, warned - 2), '\x1b[2K');
  h.clock.advance(300);
  const after = h.stderr().slice(warned);
  assert.match(after, /\r\x1b\[2K. waiting for the callback… \(\d/, 'the spinner is back');
  h.abort.abort('SIGINT');
  await assert.rejects(flow, { code: 'interrupted' });
});
