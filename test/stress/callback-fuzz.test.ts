/**
 * Callback fuzzing: while a login waits, thousands of generated requests hit its callback
 * listener (random methods, paths, wrong and missing states, repeated and huge parameters,
 * oversized headers, invalid percent-encoding, garbage request lines, slow and half-closed
 * connections). Then the real callback. `npm run test:stress`.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { AUTHORIZE_URL, decide, json, SECRET, startBin, tempDir, prng } from '../helpers.ts';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 6000);
const CONCURRENCY = 32;

interface Answer {
  status: number;
  body: string;
}

/** One request over a raw socket: whatever bytes we like, the answer as text. */
function raw(
  port: number,
  bytes: string | Buffer,
  options: { halfClose?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    const finish = () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    };
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('close', finish);
    // The server closed its side: close ours (allowHalfOpen keeps it open otherwise).
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
    socket.write(bytes, () => {
      if (options.halfClose) socket.end();
    });
    if (!options.halfClose) {
      socket.on('data', () => {
        if (text.includes('\r\n\r\n') && /content-length: (\d+)/i.test(text)) {
          const length = Number(/content-length: (\d+)/i.exec(text)![1]);
          if (Buffer.byteLength(text.slice(text.indexOf('\r\n\r\n') + 4), 'latin1') >= length)
            socket.end();
        }
      });
    }
  });
}

function viaHttp(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('close', () => resolve({ status: 0, body: '' }));
    req.setTimeout(15_000, () => req.destroy());
    req.end();
  });
}

test(
  `${REQUESTS} generated requests while a login waits, then the real callback`,
  { timeout: 240_000 },
  async (t) => {
    const dir = tempDir(t);
    const child = startBin(['login', '--emulator', '--no-browser', '--json', '--timeout', '600'], {
      cwd: dir,
      env: { JWT_SECRET: SECRET },
      timeoutMs: 300_000,
    });
    const [, authorizeUrl] = await child.waitForStderr(AUTHORIZE_URL);
    const redirect = new URL(new URL(authorizeUrl!).searchParams.get('redirect_uri')!);
    const state = new URL(authorizeUrl!).searchParams.get('state')!;
    const port = Number(redirect.port);
    const path = redirect.pathname;

    const seed = Number(process.env.FUZZ_SEED ?? 424242);
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let probe = 0;
    const marker = () => `<x-probe-${probe++}>`;
    const wrongStates = () =>
      pick([
        '',
        'x',
        state.slice(0, -1),
        `${state}x`,
        state.toUpperCase() === state ? `${state}a` : state.toUpperCase(),
        encodeURIComponent(marker()),
        'A'.repeat(10_000),
        '%zz',
        '%',
        '%e4%b8',
        encodeURIComponent('\u0000\u001b[31m'),
        `${state}&state=${state}`, // the right state, repeated: refused
      ]);
    const query = () => {
      const parts: string[] = [];
      const n = Math.floor(rand() * 6);
      for (let i = 0; i < n; i++) {
        const name = pick([
          'code',
          'authCode',
          'error',
          'error_description',
          'state',
          'x',
          '%zz',
          'a[]',
          '',
        ]);
        const value = pick([
          () => encodeURIComponent(marker()),
          () => encodeURIComponent(`"><script>alert(${probe++})</script>`),
          () => 'v'.repeat(Math.floor(rand() * 7000)),
          () => '%zz%',
          () => encodeURIComponent('例子😀'),
          () => 'access_denied',
          () => 'abc123',
        ])();
        parts.push(`${name}=${value}`);
      }
      if (rand() < 0.8) parts.push(`state=${wrongStates()}`);
      if (rand() < 0.05) for (let i = 0; i < 200; i++) parts.push(`code=${i}`);
      return parts.join('&');
    };
    const paths = [
      path,
      path,
      path,
      '/',
      '/favicon.ico',
      `${path}/`,
      path.toUpperCase(),
      `/${path}`,
      `${path}%2F`,
      `${path}/..`,
      '/x'.repeat(3000),
      '*',
    ];
    const methods = [
      'GET',
      'GET',
      'GET',
      'POST',
      'PUT',
      'DELETE',
      'HEAD',
      'OPTIONS',
      'PATCH',
      'TRACE',
      'BREW',
    ];

    const kinds = {
      http: () =>
        viaHttp(
          port,
          pick(methods),
          `${pick(paths)}?${query()}`,
          rand() < 0.1 ? { 'x-big': 'h'.repeat(4000), cookie: marker() } : {},
        ),
      rightStateWrongPlace: () =>
        viaHttp(
          port,
          pick(['POST', 'PUT', 'GET']),
          `${pick(['/', `${path}/`, '/favicon.ico', path])}?authCode=zz&state=${state}&state=${state}`,
          {},
        ),
      oversizedHeaders: () =>
        raw(
          port,
          `GET ${path}?state=x HTTP/1.1\r\nHost: a\r\nX-Huge: ${'h'.repeat(20_000 + Math.floor(rand() * 60_000))}\r\n\r\n`,
        ),
      manyHeaders: () =>
        raw(
          port,
          `GET ${path} HTTP/1.1\r\nHost: a\r\n${Array.from({ length: 300 }, (_, i) => `X-${i}: v`).join('\r\n')}\r\n\r\n`,
        ),
      garbage: () =>
        raw(
          port,
          pick([
            `\u0000\u0001\u0002 ${marker()}\r\n\r\n`,
            'GET\r\n\r\n',
            `GET ${path}?state=${state} HTTP/9.9\r\n\r\n`,
            `${'A'.repeat(9000)}\r\n\r\n`,
            'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n',
            'GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
          ]),
        ),
      badPercent: () =>
        raw(
          port,
          `GET ${path}?state=%E0%A4%A&code=%&authCode=%%%${marker()} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
        ),
      halfClosed: () =>
        raw(port, `GET ${path}?state=${wrongStates()}&code=x HTTP/1.1\r\nHost: a\r\n\r\n`, {
          halfClose: true,
        }),
      pipelined: () =>
        raw(
          port,
          `GET ${path}?state=a HTTP/1.1\r\nHost: a\r\n\r\nGET ${path}?state=b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
        ),
      connectAndLeave: () =>
        new Promise<Answer>((resolve) => {
          const s = connect({ port, host: '127.0.0.1' }, () => s.destroy());
          s.on('close', () => resolve({ status: -1, body: '' }));
          s.on('error', () => resolve({ status: -1, body: '' }));
        }),
    };
    const names = Object.keys(kinds) as (keyof typeof kinds)[];
    const weights: Record<keyof typeof kinds, number> = {
      http: 60,
      rightStateWrongPlace: 5,
      oversizedHeaders: 5,
      manyHeaders: 3,
      garbage: 8,
      badPercent: 6,
      halfClosed: 6,
      pipelined: 4,
      connectAndLeave: 3,
    };
    const bag = names.flatMap((name) => Array<keyof typeof kinds>(weights[name]).fill(name));

    // Slow connections, held open during the whole fuzz (slowloris).
    const slow: Socket[] = [];
    for (let i = 0; i < 30; i++) {
      const s = connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      s.write(`GET ${path}?state=`);
      slow.push(s);
    }
    const drip = setInterval(() => {
      for (const s of slow) if (!s.destroyed) s.write('x');
    }, 200);

    const statuses = new Map<number, number>();
    let sent = 0;
    let leaks = 0;
    const started = Date.now();
    const worker = async () => {
      while (sent < REQUESTS) {
        sent++;
        const kind = pick(bag);
        const answer = await Promise.race([
          kinds[kind](),
          new Promise<Answer>((_, reject) =>
            setTimeout(
              () => reject(new Error(`${kind} request got no answer in 20 s`)),
              20_000,
            ).unref(),
          ),
        ]);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assert.notEqual(answer.status, 200, `a fuzz request was accepted (seed ${seed})`);
        if (/<x-probe-|<script>alert/.test(answer.body)) leaks++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    clearInterval(drip);
    for (const s of slow) s.destroy();
    const fuzzMs = Date.now() - started;

    assert.equal(leaks, 0, 'a reflected value was not escaped');
    assert.equal(
      child.exitCode,
      null,
      'the login process is still waiting (never crashed, never ended)',
    );
    for (const status of statuses.keys())
      assert.ok([-1, 0, 400, 404, 405, 414, 431].includes(status), `unexpected status ${status}`);

    const { page } = await decide(authorizeUrl!, 'approve');
    assert.equal(page.status, 200);
    assert.match(page.body, /Signed in with DingTalk/);
    const result = await child.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(json<{ email: string }>(result).email, 'zhangsan@corp.example');
    process.stderr.write(
      `callback fuzz: ${sent} requests + 30 slow connections in ${fuzzMs} ms, seed ${seed}, statuses ${JSON.stringify(Object.fromEntries(statuses))}, 0 accepted, 0 unescaped\n`,
    );
  },
);
