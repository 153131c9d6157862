/**
 * Issue 12, finding 9: the callback listener cannot be silently shadowed on ::1, starved by
 * idle connections, or held by slow headers. Loopback only; bounded numbers of sockets.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { startCallbackServer } from '../src/login/callback-server.ts';
import { isCliError } from '../src/cli/errors.ts';
import { startHttpListener } from '../src/net/http-listener.ts';

const STATE = 'S'.repeat(43);
const PATH = '/auth/dingtalk/callback';

/** The promise's value, or 'too late' after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'too late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'too late'>((resolve) => (timer = setTimeout(resolve, ms, 'too late')));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function fetchStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

async function listenOn(host: string, port: number): Promise<Server | undefined> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
    return server;
  } catch {
    return undefined;
  }
}

test('localhost: [::1]:port held by another process is port-busy naming it', async (t) => {
  // A port free on 127.0.0.1 whose ::1 side another process (here: a plain server) holds.
  let holder: Server | undefined;
  let port = 0;
  for (let i = 0; i < 20 && !holder; i++) {
    const probe = await listenOn('127.0.0.1', 0);
    port = (probe!.address() as { port: number }).port;
    await new Promise((resolve) => probe!.close(resolve));
    holder = await listenOn('::1', port);
    if (holder === undefined && i === 0) {
      const any = await listenOn('::1', 0);
      if (!any) return t.skip('no IPv6 loopback on this machine');
      await new Promise((resolve) => any.close(resolve));
    }
  }
  assert.ok(holder, 'could not hold a ::1 port');
  t.after(() => holder!.close());
  const error = await startCallbackServer({
    host: 'localhost',
    port,
    path: PATH,
    expectedState: STATE,
  }).then(
    async (server) => {
      await server.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(isCliError(error), 'binding only 127.0.0.1 must not count as success');
  assert.equal(error.code, 'port-busy');
  assert.equal(error.exitCode, 2);
  assert.match(error.message, new RegExp(`port ${port} on ::1`));
  assert.match(error.message, /localhost/);
  // Nothing left bound on 127.0.0.1 either.
  const again = await listenOn('127.0.0.1', port);
  assert.ok(again, '127.0.0.1 was released');
  again.close();
});

test('localhost on a free port binds both loopback families', async (t) => {
  const v6 = await listenOn('::1', 0);
  if (!v6) return t.skip('no IPv6 loopback on this machine');
  v6.close();
  const server = await startCallbackServer({
    host: 'localhost',
    port: 0,
    path: PATH,
    expectedState: STATE,
  });
  t.after(() => server.close());
  assert.equal(await fetchStatus(`http://127.0.0.1:${server.port}/`), 404);
  assert.equal(await fetchStatus(`http://[::1]:${server.port}/`), 404);
});

test('hundreds of idle connections cannot crowd out the real callback', async (t) => {
  const server = await startCallbackServer({
    host: '127.0.0.1',
    port: 0,
    path: PATH,
    expectedState: STATE,
  });
  t.after(() => server.close());
  const idle: Socket[] = [];
  let closedByServer = 0;
  t.after(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < 300; i++) {
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('close', () => closedByServer++);
    idle.push(socket);
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  // The listener keeps at most its cap open (64): the oldest idle ones were closed.
  assert.ok(closedByServer >= 300 - 64, `only ${closedByServer} of 300 idle connections closed`);
  const real = fetchStatus(`http://127.0.0.1:${server.port}${PATH}?authCode=abc&state=${STATE}`);
  const accepted = await within(server.accepted, 2000);
  assert.notEqual(accepted, 'too late', 'the real callback never arrived');
  if (accepted !== 'too late') await accepted.respond(200, 'ok');
  assert.equal(await real, 200);
});

test('slow headers are closed after the headers timeout, checked often (not every 30 s)', async (t) => {
  const listener = await startHttpListener({
    host: '127.0.0.1',
    port: 0,
    handler: (_req, res) => res.end('hello'),
    headersTimeoutMs: 200,
    requestTimeoutMs: 300,
    checkIntervalMs: 50,
  } as Parameters<typeof startHttpListener>[0]);
  t.after(() => listener.close());
  const socket = connect(listener.port, '127.0.0.1');
  socket.on('error', () => {});
  socket.resume(); // read the server's answer and its end
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n'); // headers never finished
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve('closed')));
  assert.equal(await within(closed, 1500), 'closed');
});

test('the defaults: 10 s headers, 15 s request, checked every second', async (t) => {
  const listener = await startHttpListener({
    host: '127.0.0.1',
    port: 0,
    handler: (_req, res) => res.end('hello'),
  });
  t.after(() => listener.close());
  assert.equal(listener.server.headersTimeout, 10_000);
  assert.equal(listener.server.requestTimeout, 15_000);
  const interval = (listener.server as unknown as { connectionsCheckingInterval: number })
    .connectionsCheckingInterval;
  assert.equal(interval, 1000, `checked every ${interval} ms (Node's default is 30 000)`);
});
