/**
 * Issue 21, what muvee-oracle cannot show (test/fixtures/fake-muvee.ts, muvee's answers as
 * measured against the oracle): muvee without DingTalk, a rebased redirect_uri, redirects and
 * loops, a slow muvee bounded by --http-timeout, a hostile one (escape sequences, huge bodies
 * and headers, workflow-command injection), https with self-signed and wrong-host
 * certificates, and the rules on where a session may go. All on loopback.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';

import { after, describe, test } from 'node:test';
import { runBin, runCli, tempDir, type RunResult } from './helpers.ts';
import {
  selfSignedCertificate,
  startFakeMuvee,
  text,
  type FakeMuvee,
  type FakeMuveeOptions,
} from './fixtures/fake-muvee.ts';

const SECRET = 'fake-muvee-secret-0123456789abcdef012345';
const USER = '3f9c1e52-8a1b-4c7d-9e0f-1a2b3c4d5e6f';
const BASE_ENV = {
  DINGTALK_CLIENT_ID: 'dingfake1234567890',
  DINGTALK_CLIENT_SECRET: 'x'.repeat(64),
  JWT_SECRET: SECRET,
};

interface Check {
  id: string;
  status: 'pass' | 'warn' | 'fail';
  message: string;
}

const fakes: FakeMuvee[] = [];
after(async () => {
  for (const fake of fakes) await fake.close();
});
async function fake(options: FakeMuveeOptions = {}): Promise<FakeMuvee> {
  const started = await startFakeMuvee(options);
  fakes.push(started);
  return started;
}

const cwd = tempDir();

async function checkConfig(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ run: RunResult; checks: Check[] }> {
  const run = await runCli(['check-config', '--json', ...args], {
    env: { ...BASE_ENV, ...env },
    cwd,
  });
  assertClean(run);
  return { run, checks: (JSON.parse(run.stdout) as { checks: Check[] }).checks };
}

/** No escape character, no JWT_SECRET, no token in anything printed. */
function assertClean(run: RunResult): void {
  for (const out of [run.stdout, run.stderr]) {
    assert.ok(
      !out.includes('\x1b'),
      `an escape character reached the output: ${JSON.stringify(out.slice(0, 300))}`,
    );
    assert.ok(!out.includes(SECRET), 'JWT_SECRET printed');
    assert.doesNotMatch(out, /eyJ[\w-]+\.eyJ/, 'a token printed');
  }
}

const muveeChecks = (checks: Check[]) =>
  Object.fromEntries(checks.filter((c) => c.id.startsWith('muvee-')).map((c) => [c.id, c.status]));
const byId = (checks: Check[], id: string) => {
  const check = checks.find((c) => c.id === id);
  assert.ok(check, `no check ${id} in ${checks.map((c) => c.id).join(', ')}`);
  return check;
};

/** A user for /api/me, and the tokens muvee was sent (decoded claims). */
function meAs(seen: Record<string, unknown>[] = []) {
  return (token: string) => {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    seen.push(claims);
    return claims.uid === USER
      ? { id: USER, email: 'ops@corp.example', role: 'admin', authorized: true }
      : undefined;
  };
}

describe('muvee without DingTalk, and a rebased redirect_uri', () => {
  test('DingTalk not configured: not offered, and the login route is a 404 unknown provider', async () => {
    const muvee = await fake({
      routes: {
        '/api/auth/providers': (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"phone_login":false,"providers":[{"id":"google","display_name":"Google"}]}\n');
        },
        '/auth/dingtalk/login': text(404, 'unknown provider\n'),
      },
    });
    const { run, checks } = await checkConfig(['--muvee', muvee.url]);
    assert.equal(run.code, 7);
    assert.equal(byId(checks, 'muvee-dingtalk-enabled').status, 'fail');
    assert.match(byId(checks, 'muvee-dingtalk-enabled').message, /its providers: 'google'/);
    assert.equal(byId(checks, 'muvee-login').status, 'fail');
    assert.match(
      byId(checks, 'muvee-login').message,
      /404 'unknown provider': DingTalk is not configured on muvee/,
    );
    assert.equal(
      checks.find((c) => c.id === 'muvee-client-id'),
      undefined,
    );
  });

  test('muvee rebases its DINGTALK_REDIRECT_URL onto the host asked: a warning to register that URL too', async () => {
    const muvee = await fake({
      redirectUrl: (_base, req) => `https://${req.headers.host}/auth/dingtalk/callback`,
      me: meAs(),
    });
    const { run, checks } = await checkConfig(['--muvee', muvee.url, '--muvee-user', USER], {
      DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback',
      BASE_DOMAIN: 'corp.example',
    });
    assert.equal(run.code, 0, run.stdout);
    assert.equal(byId(checks, 'muvee-redirect-host').status, 'pass');
    const match = byId(checks, 'muvee-redirect-url');
    assert.equal(match.status, 'warn');
    assert.match(match.message, /rebased onto the host it was asked on/);
    assert.match(match.message, /--muvee https:\/\/muvee\.corp\.example/);
  });
});

describe('redirects', () => {
  test('a redirect loop is named as one, and followed no further', async () => {
    const muvee = await fake({
      routes: {
        '/api/auth/providers': text(302, '', { location: '/api/auth/providers/' }),
        '/api/auth/providers/': text(301, '', { location: '/api/auth/providers' }),
      },
    });
    const { run, checks } = await checkConfig(['--muvee', muvee.url]);
    assert.equal(run.code, 7);
    assert.deepEqual(muveeChecks(checks), { 'muvee-url': 'pass', 'muvee-reachable': 'fail' });
    assert.match(byId(checks, 'muvee-reachable').message, /redirects in a loop/);
    assert.equal(muvee.requests.length, 2);
  });

  test('a redirect to another host is not followed (no request there) and is explained', async () => {
    const muvee = await fake({
      routes: {
        '/api/auth/providers': text(302, '', {
          location: 'https://sso.corp.example/login?next=%2F',
        }),
      },
    });
    const { checks } = await checkConfig(['--muvee', muvee.url]);
    const reach = byId(checks, 'muvee-reachable');
    assert.equal(reach.status, 'fail');
    assert.match(
      reach.message,
      /302 redirect to 'https:\/\/sso\.corp\.example\/login\?next=%2F'; this tool follows no redirect with a session/,
    );
    assert.equal(muvee.requests.length, 1);
  });

  test('http → https on the same host is followed to explain it, and the URL to use is named', async () => {
    const muvee = await fake();
    const redirecting = await fake({
      routes: {
        '/api/auth/providers': text(301, '', {
          location: `https://127.0.0.1:${muvee.port}/api/auth/providers`,
        }),
      },
    });
    const { checks } = await checkConfig(['--muvee', redirecting.url]);
    const reach = byId(checks, 'muvee-reachable');
    assert.equal(reach.status, 'fail');
    assert.match(reach.message, new RegExp(`use --muvee 'https://127\\.0\\.0\\.1:${muvee.port}'`));
  });

  test('/api/me redirected elsewhere: the session is not sent on', async () => {
    const other = await fake({ me: meAs() });
    const muvee = await fake({
      routes: { '/api/me': text(307, '', { location: `${other.url}/api/me` }) },
    });
    const { checks } = await checkConfig(['--muvee', muvee.url, '--muvee-user', USER]);
    assert.equal(byId(checks, 'muvee-session').status, 'fail');
    assert.match(
      byId(checks, 'muvee-session').message,
      /answered 307 .*the session is sent to no other URL/,
    );
    assert.equal(other.requests.length, 0);
  });
});

describe('a slow muvee is bounded by --http-timeout', () => {
  test(
    'no answer to /api/auth/providers: muvee-reachable fails after the timeout',
    { timeout: 20_000 },
    async () => {
      const muvee = await fake({ routes: { '/api/auth/providers': () => {} } });
      const { run, checks } = await checkConfig(['--muvee', muvee.url, '--http-timeout', '0.5']);
      assert.equal(run.code, 7);
      assert.match(
        byId(checks, 'muvee-reachable').message,
        /no answer from .* within 0\.5 s \(--http-timeout\)/,
      );
    },
  );

  test(
    'a body that trickles, and an /api/me that never answers: each fails alone',
    { timeout: 20_000 },
    async () => {
      const muvee = await fake({
        routes: {
          '/auth/dingtalk/callback': (_req, res) => {
            res.writeHead(400, { 'content-type': 'text/plain' });
            const timer = setInterval(() => res.write('.'), 100);
            res.on('close', () => clearInterval(timer));
          },
          '/api/me': () => {},
        },
      });
      const { checks } = await checkConfig([
        '--muvee',
        muvee.url,
        '--muvee-user',
        USER,
        '--http-timeout',
        '0.5',
      ]);
      assert.equal(byId(checks, 'muvee-reachable').status, 'pass');
      assert.equal(byId(checks, 'muvee-client-id').status, 'pass');
      assert.match(byId(checks, 'muvee-callback-state').message, /no answer .* within 0\.5 s/);
      assert.match(byId(checks, 'muvee-session').message, /no answer .* within 0\.5 s/);
    },
  );
});

describe('a hostile muvee', () => {
  const ESC = '\x1b]0;pwned\x07\x1b[2J\x1b[31m';

  test('escape sequences in its answers are shown escaped, in every format', async () => {
    const muvee = await fake({
      routes: {
        '/api/auth/providers': (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ providers: [{ id: `evil${ESC}`, display_name: ESC }] }));
        },
        '/auth/dingtalk/login': text(500, `${ESC}\n::error::injected\n%0A::warning::also`),
      },
    });
    const { checks } = await checkConfig(['--muvee', muvee.url]);
    assert.match(
      byId(checks, 'muvee-dingtalk-enabled').message,
      /'evil\\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[31m'/,
    );
    assert.match(byId(checks, 'muvee-login').message, /answered 500 '\\x1b/);
    for (const format of ['github', 'junit', 'text']) {
      const run = await runCli(['check-config', '--muvee', muvee.url, '--format', format], {
        env: BASE_ENV,
        cwd,
      });
      assertClean(run);
      assert.equal(run.code, 7);
      // No line of its own can start a workflow command, and GitHub's escapes hold.
      assert.doesNotMatch(run.stdout, /^::error::injected/m);
      assert.doesNotMatch(run.stdout, /^::warning::also/m);
      if (format === 'github')
        assert.match(run.stdout, /::error title=check-config muvee-login::.*%250A::warning::also/);
      if (format === 'junit') assert.doesNotMatch(run.stdout, /[\x00-\x08\x0b\x0c\x0e-\x1f]/);
    }
  });

  test('control characters in headers (refused by the HTTP parser) are said so, not shown', async () => {
    const server = createServer((socket) =>
      socket.once('data', (data) => {
        const path = data.toString('latin1').split(' ')[1] ?? '';
        const reply = (head: string, body = '') =>
          socket.end(
            `${head}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          );
        if (path === '/api/auth/providers')
          reply(
            'HTTP/1.1 200 OK\r\ncontent-type: application/json',
            '{"providers":[{"id":"dingtalk"}]}',
          );
        else if (path.startsWith('/auth/dingtalk/login'))
          reply(
            `HTTP/1.1 302 Found\r\nlocation: https://login.dingtalk.com/oauth2/auth?client_id=${ESC}`,
          );
        else reply('HTTP/1.1 400 Bad Request', 'invalid state');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const { checks } = await checkConfig(['--muvee', `http://127.0.0.1:${port}`]);
      assert.equal(byId(checks, 'muvee-login').status, 'fail');
      assert.match(
        byId(checks, 'muvee-login').message,
        /answered with something that is not HTTP\/1\.1/,
      );
    } finally {
      server.close();
    }
  });

  test('huge bodies are read to 64 KiB and no further', async () => {
    let written = 0;
    let closed: Promise<number> = Promise.resolve(0);
    const big = (status: number) => (_req: unknown, res: import('node:http').ServerResponse) => {
      closed = new Promise((resolve) => res.on('close', () => resolve(written)));
      res.writeHead(status, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (written < 50 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    const muvee = await fake({ routes: { '/api/auth/providers': big(200) } });
    const { checks } = await checkConfig(['--muvee', muvee.url]);
    assert.match(byId(checks, 'muvee-reachable').message, /with more than 64 KiB: is this muvee\?/);
    // the connection was closed long before the server's 50 MiB were written
    assert.ok((await closed) < 50 * 1024 * 1024);
    const meBig = await fake({ routes: { '/api/me': big(200) } });
    written = 0;
    const session = await checkConfig(['--muvee', meBig.url, '--muvee-user', USER]);
    assert.match(
      byId(session.checks, 'muvee-session').message,
      /answered 200 'aaaa.*…', not muvee's user JSON/,
    );
  });

  test('headers larger than 16 KiB are refused', async () => {
    const muvee = await fake({
      routes: { '/api/auth/providers': text(200, '{}', { 'x-junk': 'j'.repeat(64 * 1024) }) },
    });
    const { checks } = await checkConfig(['--muvee', muvee.url]);
    assert.match(byId(checks, 'muvee-reachable').message, /headers larger than 16 KiB/);
  });

  test('a callback that takes a forged state, a cookie without its flags, a page not DingTalk', async () => {
    const muvee = await fake({
      routes: {
        '/auth/dingtalk/login': (_req, res) => {
          res.writeHead(302, {
            location:
              'https://login.evil.example/oauth2/auth?client_id=dingfake1234567890&scope=openid+corpid&prompt=none&response_type=code&state=s1&redirect_uri=https%3A%2F%2Fx.example%2Fauth%2Fdingtalk%2Fcallback',
            'set-cookie': 'oauth_state=dingtalk:s2; Path=/; SameSite=None',
          });
          res.end();
        },
        '/auth/dingtalk/callback': text(302, '', { location: '/' }),
      },
    });
    const { checks } = await checkConfig(['--muvee', muvee.url]);
    assert.equal(byId(checks, 'muvee-login').status, 'fail');
    assert.match(
      byId(checks, 'muvee-login').message,
      /'https:\/\/login\.evil\.example\/oauth2\/auth', not DingTalk's/,
    );
    assert.match(
      byId(checks, 'muvee-authorize-params').message,
      /scope='openid corpid' \(expected openid\), prompt='none' \(expected consent\)/,
    );
    assert.match(
      byId(checks, 'muvee-state-cookie').message,
      /lacks Secure, HttpOnly, SameSite=Lax, the value dingtalk:<state>/,
    );
    assert.equal(byId(checks, 'muvee-callback-state').status, 'fail');
    assert.match(
      byId(checks, 'muvee-callback-state').message,
      /answered 302 .* to a state muvee never issued/,
    );
  });

  test('a page that is not muvee (a proxy’s HTML login) is not taken for it', async () => {
    const muvee = await fake({
      routes: {
        '/api/auth/providers': text(200, '<html><body>Sign in to the VPN</body></html>', {
          'content-type': 'text/html',
        }),
      },
    });
    const { checks } = await checkConfig(['--muvee', muvee.url, '--muvee-user', USER]);
    assert.match(
      byId(checks, 'muvee-reachable').message,
      /'text\/html' '<html><body>Sign in to the VPN<\/body><\/html>', not muvee's JSON/,
    );
    // nothing past the first question: no session went to it
    assert.equal(muvee.requests.length, 1);
    assert.equal(muvee.requests[0]!.headers.authorization, undefined);
  });
});

describe('where a session may go', () => {
  test('plain http off loopback is refused before any request (no DNS lookup either)', async () => {
    const { run, checks } = await checkConfig([
      '--muvee',
      'http://muvee.invalid',
      '--muvee-user',
      USER,
    ]);
    assert.equal(run.code, 7);
    assert.deepEqual(muveeChecks(checks), { 'muvee-url': 'fail' });
    assert.match(
      byId(checks, 'muvee-url').message,
      /plain http off this machine, so nothing is sent there.*use https:\/\/muvee\.invalid/,
    );
    const verify = await runCli(['verify-token', '--muvee', 'http://muvee.invalid', '-'], {
      env: BASE_ENV,
      input: 'not read',
      cwd,
    });
    assert.equal(verify.code, 2);
    assert.match(verify.stderr, /plain http off this machine/);
  });

  test('the probe session: only to /api/me of the URL named, as Bearer, valid 60 s at most', async () => {
    const seen: Record<string, unknown>[] = [];
    const muvee = await fake({ me: meAs(seen) });
    const { run, checks } = await checkConfig(['--muvee', muvee.url, '--muvee-user', USER]);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(byId(checks, 'muvee-session').status, 'pass');
    assert.equal(seen.length, 1);
    const claims = seen[0]! as { uid: string; iat: number; exp: number };
    assert.equal(claims.uid, USER);
    assert.ok(
      claims.exp - claims.iat <= 60,
      `the probe session lives ${claims.exp - claims.iat} s`,
    );
    const withAuth = muvee.requests.filter((r) => r.headers.authorization || r.headers.cookie);
    assert.deepEqual(
      withAuth.map((r) => r.url),
      ['/api/me'],
    );
  });

  test('--muvee-user must be an email or a uuid; --json with another --format is a usage error', async () => {
    const bad = await runCli(
      ['check-config', '--muvee', 'http://127.0.0.1:9', '--muvee-user', 'bob'],
      { env: BASE_ENV, cwd },
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'bob' is neither an email nor a uuid/);
    const both = await runCli(['check-config', '--json', '--format', 'junit'], {
      env: BASE_ENV,
      cwd,
    });
    assert.equal(both.code, 2);
    const each = await runCli(['verify-token', '--each', '--muvee', 'http://127.0.0.1:9', '-'], {
      env: BASE_ENV,
      cwd,
      input: '',
    });
    assert.equal(each.code, 2);
  });
});

describe('https', () => {
  const dir = tempDir();
  const cert = selfSignedCertificate(dir, ['127.0.0.1']);
  const wrongHost = selfSignedCertificate(dir, ['muvee.test']);
  const skip = cert && wrongHost ? undefined : 'openssl is not available to make a certificate';
  if (skip) console.warn(`\n!!!!! https deployment tests SKIPPED: ${skip} !!!!!\n`);

  test(
    'a self-signed certificate: not trusted, and how to trust a private CA',
    { skip },
    async () => {
      const muvee = await fake({ tls: cert! });
      const { checks } = await checkConfig(['--muvee', muvee.url, '--muvee-user', USER]);
      const reach = byId(checks, 'muvee-reachable');
      assert.equal(reach.status, 'fail');
      assert.match(
        reach.message,
        /^TLS: https:\/\/127\.0\.0\.1:\d+'s certificate is not trusted here \(DEPTH_ZERO_SELF_SIGNED_CERT/,
      );
      assert.match(reach.message, /NODE_EXTRA_CA_CERTS/);
      assert.ok(muvee.requests.every((r) => !r.headers.authorization));
    },
  );

  test(
    'trusted through NODE_EXTRA_CA_CERTS (the built bin): every check passes over https',
    { skip },
    async () => {
      const seen: Record<string, unknown>[] = [];
      const muvee = await fake({
        tls: cert!,
        redirectUrl: (base) => `${base}/auth/dingtalk/callback`,
        me: meAs(seen),
      });
      const run = await runBin(
        ['check-config', '--json', '--muvee', muvee.url, '--muvee-user', USER],
        {
          env: {
            ...BASE_ENV,
            NODE_EXTRA_CA_CERTS: cert!.certFile,
            DINGTALK_REDIRECT_URL: `${muvee.url}/auth/dingtalk/callback`,
          },
          cwd,
        },
      );
      assertClean(run);
      const checks = (JSON.parse(run.stdout) as { checks: Check[] }).checks;
      assert.deepEqual(
        Object.values(muveeChecks(checks)).filter((s) => s !== 'pass'),
        [],
        JSON.stringify(checks, null, 1),
      );
      assert.equal(seen.length, 1);
    },
  );

  test('a certificate for another host name', { skip }, async () => {
    const muvee = await fake({ tls: wrongHost! });
    const run = await runBin(['check-config', '--json', '--muvee', muvee.url], {
      env: { ...BASE_ENV, NODE_EXTRA_CA_CERTS: wrongHost!.certFile },
      cwd,
    });
    const checks = (JSON.parse(run.stdout) as { checks: Check[] }).checks;
    assert.match(
      byId(checks, 'muvee-reachable').message,
      /certificate is not for '127\.0\.0\.1' \('Hostname\/IP does not match/,
    );
  });

  test('https:// to a port that speaks plain http', { skip }, async () => {
    const muvee = await fake();
    const { checks } = await checkConfig(['--muvee', muvee.url.replace('http:', 'https:')]);
    assert.match(byId(checks, 'muvee-reachable').message, /does not speak TLS on port \d+/);
  });

  test('a port that closes every connection at once', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => socket.destroy());
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const { checks } = await checkConfig(['--muvee', `http://127.0.0.1:${port}`]);
      assert.match(
        byId(checks, 'muvee-reachable').message,
        /closed the connection before answering/,
      );
    } finally {
      server.close();
    }
  });
});
