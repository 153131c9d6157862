/**
 * Issue 20, L10: the emulator's control API (`/__emulator/…`: redirect URIs, faults) answers
 * this machine's tools, never a web page on another local origin. Crafted requests (the
 * CORS-safelisted `text/plain` body, a foreign `Origin`, `Sec-Fetch-Site`, a DNS-rebinding
 * `Host`), then the attack itself in Chromium (when /usr/bin/chromium exists): a page on another
 * loopback port tries to register its own redirect URI and get a code.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID } from '../src/emulator/users.ts';
import { http } from './helpers.ts';

const EVIL_REDIRECT = 'http://127.0.0.1:1/evil/callback';

/** Whether the emulator now accepts `redirect` (its authorize page answers 302 or 200). */
async function accepts(emu: Emulator, redirect: string): Promise<boolean> {
  const url = new URL(`${emu.url}/oauth2/auth`);
  for (const [k, v] of Object.entries({
    client_id: EMULATOR_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    prompt: 'consent',
    state: 's',
    redirect_uri: redirect,
  }))
    url.searchParams.set(k, v);
  const r = await http(url.toString());
  return r.status !== 400;
}

/** One request with a Host header of our choosing (node's http sets it from the URL otherwise). */
function raw(
  emu: Emulator,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: emu.port, method, path, headers, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the emulator control API refuses other origins (issue 20 L10)', () => {
  const body = JSON.stringify({ uri: EVIL_REDIRECT });
  const faults = JSON.stringify({ usersMe: { status: 500 } });
  const cases: [string, Record<string, string>][] = [
    ['a text/plain body (CORS-safelisted)', { 'content-type': 'text/plain' }],
    ['text/plain naming application/json', { 'content-type': 'text/plain; application/json' }],
    ['no content type', {}],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['a foreign Origin', { 'content-type': 'application/json', origin: 'http://127.0.0.1:8000' }],
    ['Origin: null', { 'content-type': 'application/json', origin: 'null' }],
    [
      'Sec-Fetch-Site: same-site',
      { 'content-type': 'application/json', 'sec-fetch-site': 'same-site' },
    ],
    ['a DNS-rebinding Host', { 'content-type': 'application/json', host: 'attacker.example' }],
  ];
  for (const [label, headers] of cases) {
    test(`${label}: refused, nothing registered, no fault set`, async (t) => {
      const emu = await startEmulator();
      t.after(() => emu.close());
      const rebinding: Record<string, string> = headers.host
        ? { host: `${headers.host}:${emu.port}` }
        : {};
      const h = { ...headers, ...rebinding };
      const status = await raw(emu, 'POST', '/__emulator/redirect-uris', h, body);
      assert.ok(status === 403 || status === 415, `status ${status}`);
      assert.equal(await accepts(emu, EVIL_REDIRECT), false);
      const put = await raw(emu, 'PUT', '/__emulator/faults', h, faults);
      assert.ok(put === 403 || put === 415, `status ${put}`);
      const del = await raw(emu, 'DELETE', '/__emulator/faults', { ...h });
      if (headers.origin || headers['sec-fetch-site'] || headers.host) assert.equal(del, 403);
    });
  }

  test('the tools this machine runs still use it (curl-style JSON)', async (t) => {
    const emu = await startEmulator();
    t.after(() => emu.close());
    const r = await http(`${emu.url}/__emulator/redirect-uris`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ uri: 'http://127.0.0.1:2/ok/callback' }),
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(await accepts(emu, 'http://127.0.0.1:2/ok/callback'), true);
    const local = await raw(
      emu,
      'PUT',
      '/__emulator/faults',
      {
        'content-type': 'application/json',
        host: `localhost:${emu.port}`,
      },
      faults,
    );
    assert.equal(local, 200);
  });

  const CHROMIUM = '/usr/bin/chromium';
  test(
    'Chromium: a page on another local origin cannot register its redirect URI or set a fault',
    {
      skip: existsSync(CHROMIUM)
        ? false
        : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`,
    },
    async (t) => {
      const emu = await startEmulator({ autoApprove: 'zhangsan' });
      t.after(() => emu.close());
      // The attacker's page, on its own loopback port: every trick a page has without CORS.
      const page = `<!doctype html><script>
const api = ${JSON.stringify(emu.url)};
const body = ${JSON.stringify(body)};
const tries = [
  fetch(api + '/__emulator/redirect-uris', {method: 'POST', mode: 'no-cors', headers: {'content-type': 'text/plain'}, body}),
  fetch(api + '/__emulator/redirect-uris', {method: 'POST', mode: 'no-cors', headers: {'content-type': 'text/plain; application/json'}, body}),
  fetch(api + '/__emulator/redirect-uris', {method: 'POST', mode: 'no-cors', body: new Blob([body])}),
  fetch(api + '/__emulator/redirect-uris', {method: 'POST', headers: {'content-type': 'application/json'}, body}),
  fetch(api + '/__emulator/faults', {method: 'PUT', headers: {'content-type': 'application/json'}, body: ${JSON.stringify(faults)}}),
  fetch(api + '/__emulator/faults', {method: 'POST', mode: 'no-cors', headers: {'content-type': 'text/plain'}, body: ${JSON.stringify(faults)}}),
  navigator.sendBeacon(api + '/__emulator/redirect-uris', body),
].map((p) => Promise.resolve(p).then(() => 'sent', (e) => 'blocked: ' + e));
Promise.all(tries).then((r) => { document.title = 'done'; document.body.textContent = r.join(';'); });
const f = document.createElement('form');
f.method = 'POST'; f.enctype = 'text/plain'; f.target = 'sink';
f.action = api + '/__emulator/redirect-uris';
const i = document.createElement('input'); i.name = body.slice(0, -2) + '", "x": "'; i.value = '"}';
f.appendChild(i); document.body.appendChild(f);
const sink = document.createElement('iframe'); sink.name = 'sink'; document.body.appendChild(sink);
f.submit();
</script>`;
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(page);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const { port } = server.address() as { port: number };
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
      t.after(() => browser.close());
      const tab = await browser.newPage();
      // localhost, so the page is another origin than the emulator's 127.0.0.1 on another port.
      await tab.goto(`http://localhost:${port}/`);
      await tab.waitForFunction("document.title === 'done'", undefined, { timeout: 15_000 });
      await tab.waitForTimeout(500);
      assert.equal(
        await accepts(emu, EVIL_REDIRECT),
        false,
        'the page registered its redirect URI',
      );
      const me = await http(`${emu.url}/v1.0/contact/users/me`, {
        headers: { 'x-acs-dingtalk-access-token': 'x' },
      });
      assert.notEqual(me.status, 500, 'the page set a fault');
      assert.equal(emu.hits.usersMe, 1);
    },
  );
});
