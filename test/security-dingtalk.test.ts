/**
 * Issue 20, M1/M2: a hostile DingTalk answer (an echoing proxy, a broken gateway, a renamed
 * field) never puts a secret on stderr, in the `--json` document (`details` included) or on
 * the browser's page. The login runs for real against the emulator's login page; its API is
 * reached through a proxy on 127.0.0.1 that forwards to the emulator and then rewrites the
 * answer, knowing every secret of the exchange (the app secret, the code, the tokens).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { describe, test } from 'node:test';
import { startEmulator, type Emulator } from '../src/emulator/server.ts';
import { EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET } from '../src/emulator/users.ts';
import {
  AUTHORIZE_URL,
  decide,
  emulatorLoginEnv,
  http,
  runCli,
  SECRET,
  startCli,
  tempDir,
  type HttpResult,
  type RunResult,
} from './helpers.ts';

/** What the proxy saw of one request, and the emulator's real answer to it. */
interface Exchange {
  path: string;
  body: Record<string, string>;
  headers: Record<string, string>;
  upstream: { status: number; text: string; json: Record<string, unknown> | undefined };
}

type Rewrite = (x: Exchange) => { status: number; body: string; type?: string } | undefined;

/** A proxy in front of the emulator's API that rewrites answers; records every secret seen. */
async function hostileProxy(emulator: Emulator, rewrite: Rewrite) {
  const secrets = new Set<string>([EMULATOR_CLIENT_SECRET]);
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const text = await read(req);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const body = text ? (JSON.parse(text) as Record<string, string>) : {};
      for (const key of ['code', 'clientSecret', 'appSecret'])
        if (typeof body[key] === 'string') secrets.add(body[key]);
      if (headers['x-acs-dingtalk-access-token'])
        secrets.add(headers['x-acs-dingtalk-access-token']);
      const up = await http(`${emulator.url}${req.url}`, {
        method: req.method!,
        headers: {
          'content-type': headers['content-type'] ?? 'application/json',
          ...(headers['x-acs-dingtalk-access-token']
            ? { 'x-acs-dingtalk-access-token': headers['x-acs-dingtalk-access-token'] }
            : {}),
        },
        ...(text ? { body: text } : {}),
      });
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(up.body) as Record<string, unknown>;
        for (const key of ['accessToken', 'refreshToken'])
          if (typeof json[key] === 'string') secrets.add(json[key] as string);
      } catch {
        json = undefined;
      }
      const answer = rewrite({
        path: req.url ?? '',
        body,
        headers,
        upstream: { status: up.status, text: up.body, json },
      }) ?? { status: up.status, body: up.body };
      res.writeHead(answer.status, {
        'content-type': answer.type ?? 'application/json;charset=utf-8',
      });
      res.end(answer.body);
    })().catch((error: unknown) => {
      res.writeHead(599);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    secrets,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A real-mode login through the proxy, approved on the emulator's page; the browser's page too. */
async function hostileLogin(
  t: { after(fn: () => unknown): void },
  rewrite: Rewrite,
  args: string[] = [],
): Promise<{ run: RunResult; page: HttpResult; secrets: Set<string> }> {
  const emulator = await startEmulator({ recordTokens: true });
  t.after(() => emulator.close());
  const proxy = await hostileProxy(emulator, rewrite);
  t.after(() => proxy.close());
  const dir = tempDir(t);
  const { env } = await emulatorLoginEnv(emulator, {
    clientId: EMULATOR_CLIENT_ID,
    clientSecret: EMULATOR_CLIENT_SECRET,
    jwtSecret: SECRET,
    db: `${dir}/team.db`,
  });
  const cli = startCli(['login', '--no-browser', ...args], {
    env: { ...env, DINGTALK_API_BASE: proxy.url },
    cwd: dir,
  });
  const [, url] = await cli.waitForStderr(AUTHORIZE_URL);
  const { page } = await decide(url!, 'approve', 'zhangsan');
  const run = await cli.done;
  for (const token of emulator.issuedTokens) proxy.secrets.add(token);
  return { run, page, secrets: proxy.secrets };
}

function assertNoSecret(where: string, text: string, secrets: Set<string>): void {
  for (const secret of secrets) {
    assert.ok(
      !text.includes(secret),
      `${where} leaks ${secret.slice(0, 6)}… (${secret.length} chars):\n${text}`,
    );
  }
}

const echo = (status: number, field: (x: Exchange) => string): Rewrite => {
  return (x) =>
    x.path.includes('userAccessToken') || x.path.includes('users/me')
      ? {
          status,
          body: JSON.stringify({
            code: field(x),
            message: `echo ${field(x)}`,
            requestid: field(x),
            accessdenieddetail: { requiredScopes: [field(x)] },
          }),
        }
      : undefined;
};

describe("a hostile DingTalk's error code never carries a secret out (issue 20 M1)", () => {
  const cases: [string, Rewrite][] = [
    ['5xx whose code is the app secret', echo(500, (x) => x.body.clientSecret ?? 'none')],
    ['5xx whose code is the authorization code', echo(503, (x) => x.body.code ?? 'none')],
    ['4xx whose code is the authorization code', echo(400, (x) => x.body.code ?? 'none')],
    [
      '4xx whose code wraps the app secret',
      echo(401, (x) => `invalid.${x.body.clientSecret ?? ''}.x`),
    ],
    [
      "5xx on the profile whose code is the user's access token",
      (x) =>
        x.path.includes('users/me')
          ? {
              status: 502,
              body: JSON.stringify({ code: x.headers['x-acs-dingtalk-access-token'] }),
            }
          : undefined,
    ],
    [
      '4xx on the profile whose code is the app secret and the access token',
      (x) =>
        x.path.includes('users/me')
          ? {
              status: 403,
              body: JSON.stringify({
                code: `${EMULATOR_CLIENT_SECRET}:${x.headers['x-acs-dingtalk-access-token']}`,
                message: x.headers['x-acs-dingtalk-access-token'],
              }),
            }
          : undefined,
    ],
    [
      '5xx whose body carries the refresh token and a fresh access token (muvee would go on)',
      (x) =>
        x.path.includes('userAccessToken') && x.upstream.json
          ? {
              status: 500,
              body: JSON.stringify({
                ...x.upstream.json,
                code: String(x.upstream.json.refreshToken),
                message: String(x.upstream.json.accessToken),
              }),
            }
          : undefined,
    ],
  ];
  for (const [label, rewrite] of cases) {
    for (const json of [false, true]) {
      test(`${label}${json ? ' (--json)' : ''}: stderr, stdout and the browser page redacted`, async (t) => {
        const { run, page, secrets } = await hostileLogin(t, rewrite, json ? ['--json'] : []);
        assert.ok(run.code === 3 || run.code === 4, `exit ${run.code}\n${run.stderr}`);
        assert.match(run.stderr, /redacted/);
        assertNoSecret('stderr', run.stderr, secrets);
        assertNoSecret('stdout', run.stdout, secrets);
        assertNoSecret('the browser page', page.body, secrets);
        if (json) {
          const doc = JSON.parse(run.stdout) as { error: { details?: Record<string, unknown> } };
          assert.ok(doc.error.details, run.stdout);
          assertNoSecret('details', JSON.stringify(doc.error.details), secrets);
        }
      });
    }
  }

  test('check-config --live: a 5xx and a 4xx whose code is the app secret', async (t) => {
    for (const status of [500, 400]) {
      const emulator = await startEmulator();
      t.after(() => emulator.close());
      const proxy = await hostileProxy(emulator, (x) => ({
        status,
        body: JSON.stringify({ code: x.body.appSecret, requestid: x.body.appSecret }),
      }));
      t.after(() => proxy.close());
      const { env } = await emulatorLoginEnv(emulator, {
        clientId: EMULATOR_CLIENT_ID,
        clientSecret: EMULATOR_CLIENT_SECRET,
        jwtSecret: SECRET,
        db: ':memory:',
      });
      for (const args of [[], ['--json'], ['--verbose']]) {
        const r = await runCli(['check-config', '--live', ...args], {
          env: { ...env, DINGTALK_API_BASE: proxy.url },
          cwd: tempDir(t),
        });
        assert.equal(r.code, 7, r.stderr);
        assertNoSecret(`check-config ${args.join(' ')}`, r.stdout + r.stderr, proxy.secrets);
      }
    }
  });
});

describe('--verbose never shows a live token, whatever the answer looks like (issue 20 M2)', () => {
  const reshape = (make: (json: Record<string, unknown>) => string): Rewrite => {
    return (x) =>
      x.path.includes('userAccessToken') && x.upstream.json
        ? { status: 200, body: make(x.upstream.json) }
        : undefined;
  };
  const cases: [string, Rewrite][] = [
    ['a leading byte-order mark', reshape((j) => `\ufeff${JSON.stringify(j)}`)],
    ['truncated', reshape((j) => JSON.stringify(j).slice(0, -3))],
    ['trailing bytes', reshape((j) => `${JSON.stringify(j)}\n<!-- cache hit -->`)],
    ['two documents', reshape((j) => `${JSON.stringify(j)}${JSON.stringify(j)}`)],
    [
      'other key names (access_token, token, data.AccessToken)',
      reshape((j) =>
        JSON.stringify({
          access_token: j.accessToken,
          token: j.refreshToken,
          data: { AccessToken: j.accessToken, refresh: j.refreshToken },
          accessTokenV2: j.accessToken,
          list: [j.accessToken],
        }),
      ),
    ],
    [
      'form-encoded',
      reshape(
        (j) => `access_token=${String(j.accessToken)}&refresh_token=${String(j.refreshToken)}`,
      ),
    ],
    [
      'as text/html with the tokens in it',
      (x) =>
        x.path.includes('userAccessToken') && x.upstream.json
          ? {
              status: 200,
              type: 'text/html',
              body: `<html><p>token ${String(x.upstream.json.accessToken)} / ${String(x.upstream.json.refreshToken)}</p></html>`,
            }
          : undefined,
    ],
    [
      'a clean answer whose profile echoes the token in unexpected fields',
      (x) =>
        x.path.includes('users/me') && x.upstream.json
          ? {
              status: 200,
              body: JSON.stringify({
                ...x.upstream.json,
                debugHeader: x.headers['x-acs-dingtalk-access-token'],
                sessionToken: x.headers['x-acs-dingtalk-access-token'],
              }),
            }
          : undefined,
    ],
  ];
  for (const [label, rewrite] of cases) {
    test(`${label}: no token on stderr, stdout or the page`, async (t) => {
      const { run, page, secrets } = await hostileLogin(t, rewrite, ['--verbose', '--json']);
      assert.match(run.stderr, /^< /m, 'the answer is traced');
      assertNoSecret('--verbose stderr', run.stderr, secrets);
      assertNoSecret('stdout', run.stdout, secrets);
      assertNoSecret('the browser page', page.body, secrets);
    });
  }
});

describe('redact.ts: the rules, as a table', () => {
  test('harvestSecrets finds credential values in any shape; redactText cuts them', async () => {
    const { harvestSecrets, redactText } = await import('../src/dingtalk/redact.ts');
    const token = 'f93a26cef65bf0d8d94027ef95601273';
    for (const body of [
      `\ufeff{"accessToken":"${token}"}`,
      `{"accessToken":"${token}","expireIn":72`,
      `{"accessToken":"${token}"}{"x":1}`,
      `{"data":{"Access-Token":"${token}"}}`,
      `{"token":{"value":"${token}"}}`,
      `access_token=${token}&expires=7200`,
      `<p>accessToken: ${token}</p>`,
    ]) {
      assert.ok(harvestSecrets(body).includes(token), body);
      assert.ok(!redactText(body, []).includes(token), body);
    }
    // Not secrets: DingTalk's error codes, request ids, short numbers, plain words.
    const plain =
      '{"code":"invalidParameter.authCode.notFound","requestid":"4F9A6B9E-5DD1-7F5B-B2C3-1234567890AB","expireIn":7200,"nick":"张三"}';
    assert.deepEqual(harvestSecrets(plain), []);
    assert.equal(redactText(plain, []), plain);
    // A JWT anywhere.
    assert.doesNotMatch(
      redactText('see eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOiJ4In0.c2ln here', []),
      /eyJ/,
    );
  });
});
