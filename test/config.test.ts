import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runStaticChecks, type Check } from '../src/config/checks.ts';
import { probeDb } from '../src/store/index.ts';
import {
  findMalformedLines,
  loadConfig,
  resolveConfig,
  splitList,
  withoutCredentials,
  type EnvFileInfo,
} from '../src/config/config.ts';
import { json, MINT_MEMBER, runCli, SECRET, tempDir } from './helpers.ts';

const noFile: EnvFileInfo = { path: '/x/.env', loaded: false, malformed: [], unknown: [] };
const GOOD = {
  DINGTALK_CLIENT_ID: 'dingabcdefghij123456',
  DINGTALK_CLIENT_SECRET: 'S'.repeat(64),
  DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback',
  BASE_DOMAIN: 'corp.example',
  ALLOWED_DOMAINS: 'corp.example,partner.example',
  ADMIN_EMAILS: 'boss@corp.example',
  JWT_SECRET: SECRET,
};

const configOf = (env: Record<string, string>, envFile: EnvFileInfo = noFile) =>
  resolveConfig({ flags: {}, env, fileValues: {}, envFile });

describe('resolveConfig', () => {
  test('precedence: flag > environment > env file > default', () => {
    const layered = resolveConfig({
      flags: { MUVEE_DINGTALK_DB: 'flag.db' },
      env: { MUVEE_DINGTALK_DB: 'env.db', JWT_SECRET: 'from-env' },
      fileValues: {
        MUVEE_DINGTALK_DB: 'file.db',
        JWT_SECRET: 'from-file',
        BASE_DOMAIN: 'file.example',
      },
      envFile: noFile,
    });
    assert.equal(layered.dbPath, 'flag.db');
    assert.equal(layered.sources.MUVEE_DINGTALK_DB, 'flag');
    assert.equal(layered.jwtSecret, 'from-env');
    assert.equal(layered.sources.JWT_SECRET, 'env');
    assert.equal(layered.baseDomain, 'file.example');
    assert.equal(layered.sources.BASE_DOMAIN, 'env-file');
    assert.equal(layered.redirectUrl, 'http://localhost:8080/auth/dingtalk/callback');
    assert.equal(layered.sources.DINGTALK_REDIRECT_URL, 'default');
  });

  test('an empty value counts as unset and falls through', () => {
    const c = resolveConfig({
      flags: {},
      env: { JWT_SECRET: '' },
      fileValues: { JWT_SECRET: 'file' },
      envFile: noFile,
    });
    assert.equal(c.jwtSecret, 'file');
  });

  test('whitespace is trimmed and remembered', () => {
    const c = configOf({
      DINGTALK_CLIENT_ID: '  dingabcdefghij123456 \t',
      ALLOWED_DOMAINS: ' A.example , b.example ',
    });
    assert.equal(c.clientId, 'dingabcdefghij123456');
    assert.deepEqual(c.allowedDomains.items, ['A.example', 'b.example']);
    assert.deepEqual(c.trimmed.sort(), ['ALLOWED_DOMAINS', 'DINGTALK_CLIENT_ID']);
  });

  test('base URLs lose trailing slashes', () => {
    const c = configOf({ DINGTALK_API_BASE: 'http://127.0.0.1:9/' });
    assert.equal(c.apiBase, 'http://127.0.0.1:9');
  });

  test('runtime facts', () => {
    const c = resolveConfig({
      flags: {},
      env: { CI: 'true', DEBUG: 'x,muvee-dingtalk' },
      fileValues: {},
      envFile: noFile,
      platform: 'linux',
    });
    assert.deepEqual(c.runtime, { ci: true, debug: true, hasDisplay: false });
    assert.equal(configOf({ CI: 'false' }).runtime.ci, false);
  });
});

describe('withoutCredentials', () => {
  // It skips URL parsing when there is no '@': a URL has a user or password only after one.
  test('agrees with a full parse of the URL, generated bases with and without credentials', () => {
    const parts = ['https://', 'http://', 'HTTPS://', 'ftp://', '//', 'https:\\\\', ' ', ''];
    const hosts = ['api.dingtalk.com', 'u:p@h', 'u@h', ':p@h', '%40@h', 'h:8080', '[::1]', 'h%40x'];
    const tails = ['', '/', '/a@b', '?q=@', '#@', '/x/', '\\@', '@'];
    let checked = 0;
    for (const part of parts)
      for (const host of hosts)
        for (const tail of tails) {
          const text = part + host + tail;
          let expected = text;
          try {
            const url = new URL(text);
            if (url.username !== '' || url.password !== '') {
              url.username = '';
              url.password = '';
              expected = url.toString();
            }
          } catch {
            // not a URL: returned as it is
          }
          assert.equal(withoutCredentials(text), expected, text);
          checked++;
        }
    assert.equal(checked, parts.length * hosts.length * tails.length);
  });
});

describe('splitList', () => {
  const cases: [string | undefined, string[], number][] = [
    [undefined, [], 0],
    ['', [], 1],
    ['a.com', ['a.com'], 0],
    // As muvee splits: trimmed, nothing lower-cased.
    ['A.com, b.COM', ['A.com', 'b.COM'], 0],
    ['a.com,,b.com,', ['a.com', 'b.com'], 2],
    [' , ', [], 2],
  ];
  for (const [input, items, empty] of cases) {
    test(JSON.stringify(input), () =>
      assert.deepEqual(splitList(input), { items, emptyItems: empty }),
    );
  }
});

describe('.env files', () => {
  test('malformed lines are found; comments, export and multi-line values are not', () => {
    const text = [
      '# comment',
      '',
      'export JWT_SECRET=abc',
      'GOOD=1',
      'this line is wrong',
      'MULTI="first',
      'second line of the value',
      'end"',
      '=novalue',
      "KEY: 'yaml style is accepted by dotenv'",
    ].join('\n');
    assert.deepEqual(
      findMalformedLines(text).map((m) => m.line),
      [5, 9],
    );
  });

  test('a malformed line is named, never quoted: its value may be a secret', () => {
    const [m] = findMalformedLines('JWT_SECRET 0123456789abcdef0123456789abcdef');
    assert.equal(m!.text, 'JWT_SECRET …');
    assert.ok(!JSON.stringify(m).includes('0123456789'));
  });

  test("an unquoted '#' inside a value (dotenv cuts it there) is reported; quoted or spaced is not", () => {
    const cut = findMalformedLines('JWT_SECRET=abc#def\nA="x#y"\nB=ok # comment\nC=\'p#q\'');
    assert.deepEqual(
      cut.map((m) => [m.line, m.text]),
      [[1, 'JWT_SECRET …']],
    );
    assert.match(cut[0]!.why!, /quote the value/);
  });

  test('loadConfig reads ./.env by default and the environment wins', (t) => {
    const dir = tempDir(t);
    writeFileSync(
      join(dir, '.env'),
      'JWT_SECRET=from-file\nBASE_DOMAIN=file.example\nDINGTALK_CLIENTID=typo\n',
    );
    const c = loadConfig({ cwd: dir, env: { JWT_SECRET: 'from-env' } });
    assert.equal(c.jwtSecret, 'from-env');
    assert.equal(c.baseDomain, 'file.example');
    assert.equal(c.envFile.loaded, true);
    assert.deepEqual(c.envFile.unknown, ['DINGTALK_CLIENTID']);
  });

  test('a missing default .env is fine; a missing explicit one is a config error', (t) => {
    const dir = tempDir(t);
    assert.equal(loadConfig({ cwd: dir, env: {} }).envFile.loaded, false);
    assert.throws(() => loadConfig({ cwd: dir, env: {}, flags: { envFile: 'nope.env' } }), {
      code: 'config',
      message: /does not exist/,
    });
  });

  test('a directory as env file is a config error', (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'adir'));
    assert.throws(() => loadConfig({ cwd: dir, env: {}, flags: { envFile: 'adir' } }), {
      code: 'config',
      message: /is a directory/,
    });
  });

  test('--db flag beats the environment, which beats the file', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'x.env'), 'MUVEE_DINGTALK_DB=file.db\n');
    const file = loadConfig({ cwd: dir, env: {}, flags: { envFile: 'x.env' } });
    assert.equal(file.dbPath, 'file.db');
    const env = loadConfig({
      cwd: dir,
      env: { MUVEE_DINGTALK_DB: 'env.db' },
      flags: { envFile: 'x.env' },
    });
    assert.equal(env.dbPath, 'env.db');
    const flag = loadConfig({
      cwd: dir,
      env: { MUVEE_DINGTALK_DB: 'env.db' },
      flags: { envFile: 'x.env', db: 'flag.db' },
    });
    assert.equal(flag.dbPath, 'flag.db');
  });
});

describe('static checks', () => {
  const writable = { exists: true, problem: undefined };
  const run = (env: Record<string, string>, envFile: EnvFileInfo = noFile): Check[] =>
    runStaticChecks(configOf(env, envFile), writable);
  const status = (checks: Check[], id: string) =>
    checks.filter((c) => c.id === id).map((c) => c.status);

  test('a good production configuration passes every check', () => {
    const checks = run(GOOD);
    assert.deepEqual(
      checks.filter((c) => c.status !== 'pass'),
      [],
    );
  });

  // [name, overrides, check id, expected status]
  const table: [string, Record<string, string | undefined>, string, 'pass' | 'warn' | 'fail'][] = [
    ['client id missing', { DINGTALK_CLIENT_ID: undefined }, 'client-id', 'fail'],
    ['client id not AppKey-shaped', { DINGTALK_CLIENT_ID: '12345' }, 'client-id', 'warn'],
    ['client id AppKey-shaped', {}, 'client-id', 'pass'],
    ['secret missing', { DINGTALK_CLIENT_SECRET: undefined }, 'client-secret', 'fail'],
    [
      'secret with inner whitespace',
      { DINGTALK_CLIENT_SECRET: 'abc def'.repeat(8) },
      'client-secret',
      'fail',
    ],
    ['secret short', { DINGTALK_CLIENT_SECRET: 'short' }, 'client-secret', 'warn'],
    ['secret fine', {}, 'client-secret', 'pass'],
    ['redirect not a URL', { DINGTALK_REDIRECT_URL: 'not a url' }, 'redirect-url', 'fail'],
    [
      'redirect ftp',
      { DINGTALK_REDIRECT_URL: 'ftp://corp.example/auth/dingtalk/callback' },
      'redirect-url',
      'fail',
    ],
    ['redirect parses', {}, 'redirect-url', 'pass'],
    [
      'http on a public host',
      { DINGTALK_REDIRECT_URL: 'http://muvee.corp.example/auth/dingtalk/callback' },
      'redirect-https',
      'fail',
    ],
    [
      'http on loopback',
      { DINGTALK_REDIRECT_URL: 'http://localhost:8080/auth/dingtalk/callback' },
      'redirect-https',
      'warn',
    ],
    ['https', {}, 'redirect-https', 'pass'],
    [
      'wrong path',
      { DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/callback' },
      'redirect-path',
      'fail',
    ],
    ['right path', {}, 'redirect-path', 'pass'],
    [
      'query',
      { DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback?x=1' },
      'redirect-query',
      'fail',
    ],
    [
      'fragment',
      { DINGTALK_REDIRECT_URL: 'https://muvee.corp.example/auth/dingtalk/callback#x' },
      'redirect-query',
      'fail',
    ],
    ['no query', {}, 'redirect-query', 'pass'],
    [
      'host outside BASE_DOMAIN',
      { DINGTALK_REDIRECT_URL: 'https://evil.example/auth/dingtalk/callback' },
      'redirect-host',
      'fail',
    ],
    [
      'loopback host with BASE_DOMAIN',
      { DINGTALK_REDIRECT_URL: 'http://127.0.0.1:8080/auth/dingtalk/callback' },
      'redirect-host',
      'warn',
    ],
    ['no BASE_DOMAIN, public host', { BASE_DOMAIN: undefined }, 'redirect-host', 'warn'],
    ['BASE_DOMAIN malformed', { BASE_DOMAIN: 'not a domain' }, 'redirect-host', 'fail'],
    ['host under BASE_DOMAIN', {}, 'redirect-host', 'pass'],
    ['jwt secret missing', { JWT_SECRET: undefined }, 'jwt-secret', 'fail'],
    ['jwt secret placeholder', { JWT_SECRET: 'change-me-in-production' }, 'jwt-secret', 'fail'],
    ['jwt secret short', { JWT_SECRET: 'short-secret' }, 'jwt-secret', 'warn'],
    ['jwt secret 32 bytes', { JWT_SECRET: 'x'.repeat(32) }, 'jwt-secret', 'pass'],
    ['jwt secret 31 bytes', { JWT_SECRET: 'x'.repeat(31) }, 'jwt-secret', 'warn'],
    [
      'allowed domains malformed',
      { ALLOWED_DOMAINS: 'corp.example,@bad,x y' },
      'allowed-domains',
      'fail',
    ],
    [
      'allowed domains with empty items',
      { ALLOWED_DOMAINS: 'corp.example,,' },
      'allowed-domains',
      'warn',
    ],
    ['allowed domains empty', { ALLOWED_DOMAINS: undefined }, 'allowed-domains', 'pass'],
    ['allowed domains fine', {}, 'allowed-domains', 'pass'],
    [
      'admin emails malformed',
      { ADMIN_EMAILS: 'boss@corp.example,notanemail' },
      'admin-emails',
      'fail',
    ],
    [
      'admin emails with empty items',
      { ADMIN_EMAILS: 'boss@corp.example,' },
      'admin-emails',
      'warn',
    ],
    [
      'admin email refused by ALLOWED_DOMAINS',
      { ADMIN_EMAILS: 'boss@elsewhere.example' },
      'admin-emails',
      'warn',
    ],
    ['admin emails empty', { ADMIN_EMAILS: undefined }, 'admin-emails', 'warn'],
    ['admin emails fine', {}, 'admin-emails', 'pass'],
    ['api base overridden', { DINGTALK_API_BASE: 'http://127.0.0.1:9900' }, 'api-base', 'warn'],
    ['api base not a URL', { DINGTALK_API_BASE: 'nope' }, 'api-base', 'fail'],
    [
      'login base over plain http off-machine',
      { DINGTALK_LOGIN_BASE: 'http://proxy.example' },
      'login-base',
      'warn',
    ],
    [
      'unicode in a domain list',
      { ALLOWED_DOMAINS: 'corp.example,例子.测试' },
      'allowed-domains',
      'fail',
    ],
    ['surrounding whitespace', { BASE_DOMAIN: ' corp.example ' }, 'whitespace', 'warn'],
    // muvee uses JWT_SECRET's raw bytes: kept as is, and said so.
    ['JWT_SECRET whitespace', { JWT_SECRET: ` ${SECRET} ` }, 'jwt-secret-whitespace', 'warn'],
    ['muvee default placeholder', { JWT_SECRET: 'change-me-in-production' }, 'jwt-secret', 'fail'],
    [
      "muvee's .env.example placeholder",
      { JWT_SECRET: 'change-me-to-a-random-secret' },
      'jwt-secret',
      'fail',
    ],
  ];
  for (const [name, overrides, id, expected] of table) {
    test(`${name}: ${id} ${expected}`, () => {
      const env: Record<string, string> = { ...GOOD };
      for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      const checks = run(env);
      assert.ok(
        status(checks, id).includes(expected),
        `${id}: ${JSON.stringify(checks.filter((c) => c.id === id))}`,
      );
      for (const check of checks)
        assert.doesNotMatch(check.message, new RegExp('S{64}'), 'secret printed');
    });
  }

  test('env file problems: malformed line fails, unknown variable warns', () => {
    const checks = run(GOOD, {
      path: '/x/.env',
      loaded: true,
      malformed: [{ line: 3, text: 'oops' }],
      unknown: ['DINGTALK_CLIENTID'],
    });
    assert.deepEqual(status(checks, 'env-file'), ['fail']);
    assert.deepEqual(status(checks, 'env-unknown'), ['warn']);
  });

  test('an empty environment fails and lists what is missing', () => {
    const failed = run({})
      .filter((c) => c.status === 'fail')
      .map((c) => c.id);
    assert.deepEqual(failed.sort(), ['client-id', 'client-secret', 'jwt-secret']);
  });

  test('the secrets are never in a message, only their length', () => {
    for (const check of run(GOOD)) {
      assert.ok(!check.message.includes(GOOD.DINGTALK_CLIENT_SECRET));
      assert.ok(!check.message.includes(SECRET));
    }
  });

  test('DB path probe', (t) => {
    const dir = tempDir(t);
    assert.equal(probeDb(join(dir, 'new.db')).problem, undefined);
    assert.match(probeDb(join(dir, 'missing', 'x.db')).problem ?? '', /does not exist/);
    assert.match(probeDb(dir).problem ?? '', /directory/);
    if (process.getuid?.() !== 0) {
      writeFileSync(join(dir, 'ro.db'), '');
      chmodSync(join(dir, 'ro.db'), 0o400);
      assert.match(probeDb(join(dir, 'ro.db')).problem ?? '', /not writable/);
    }
  });
});

describe('secrets in configuration never printed', () => {
  test('a malformed .env line holding a secret: exit 2 naming the line, not the value', async (t) => {
    const dir = tempDir(t);
    const hex = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    writeFileSync(join(dir, '.env'), `JWT_SECRET ${hex}\n`);
    const r = await runCli(MINT_MEMBER, { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /line 1 \(JWT_SECRET …\)/);
    assert.ok(!(r.stdout + r.stderr).includes(hex.slice(0, 8)));
    const check = await runCli(['check-config'], { cwd: dir });
    assert.ok(!(check.stdout + check.stderr).includes(hex.slice(0, 8)));
  });

  test('JWT_SECRET=abc#def (dotenv would cut it to abc): exit 2, quote it', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, '.env'), 'JWT_SECRET=abcdefghijklmnopqrstuvwxyz012345#6789\n');
    const r = await runCli(MINT_MEMBER, { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unquoted '#'.*quote the value/);
  });

  test('user:pw@ in DINGTALK_*_BASE: never printed, refused for a login, failed by check-config', async (t) => {
    const env = {
      DINGTALK_API_BASE: 'https://proxyuser:s3cretpw@gw.corp.example/dingtalk',
      DINGTALK_CLIENT_ID: 'dingabcdefghij123456',
      DINGTALK_CLIENT_SECRET: 'x'.repeat(40),
      JWT_SECRET: 'y'.repeat(40),
    };
    const check = await runCli(['check-config', '--json'], { env, cwd: tempDir(t) });
    assert.ok(!check.stdout.includes('s3cretpw'));
    const doc = json<{ checks: { id: string; status: string; message: string }[] }>(check);
    assert.match(
      doc.checks.find((c) => c.id === 'api-base' && c.status === 'fail')?.message ?? '',
      /user:password@/,
    );
    const login = await runCli(['login', '--no-browser'], { env, cwd: tempDir(t) });
    assert.equal(login.code, 2);
    assert.ok(!(login.stdout + login.stderr).includes('s3cretpw'));
    assert.match(login.stderr, /DINGTALK_API_BASE has a user:password@ part/);
  });
});
