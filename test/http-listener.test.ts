/** The one helper that binds and closes our HTTP listeners (callback listener, emulator). */
import assert from 'node:assert/strict';
import { Agent, get, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startHttpListener, type HttpListener } from '../src/net/http-listener.ts';

const hello = (_req: unknown, res: import('node:http').ServerResponse) => res.end('hello');

function fetchText(url: string, agent?: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** The promise's value, or 'too late' after `ms` (so a hang fails the test instead of the run). */
async function within<T>(promise: Promise<T>, ms = 1000): Promise<T | 'too late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'too late'>((resolve) => (timer = setTimeout(resolve, ms, 'too late')));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function withListener(
  t: { after(fn: () => unknown): void },
  options: Partial<Parameters<typeof startHttpListener>[0]> = {},
): Promise<HttpListener> {
  const listener = await startHttpListener({
    host: '127.0.0.1',
    port: 0,
    handler: hello,
    ...options,
  });
  t.after(() => within(listener.close()));
  return listener;
}

test('binds 127.0.0.1 on port 0: a real port, serving the handler', async (t) => {
  const listener = await withListener(t);
  assert.equal(listener.host, '127.0.0.1');
  assert.ok(listener.port > 0 && listener.port < 65536, `port ${listener.port}`);
  assert.deepEqual(await fetchText(`http://127.0.0.1:${listener.port}/`), {
    status: 200,
    body: 'hello',
  });
});

test('an IPv6 literal in brackets binds without them', async (t) => {
  let listener: HttpListener;
  try {
    listener = await startHttpListener({ host: '[::1]', port: 0, handler: hello });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') return t.skip('no IPv6 loopback');
    throw error;
  }
  t.after(() => listener.close());
  assert.equal(listener.host, '::1');
  assert.equal((await fetchText(`http://[::1]:${listener.port}/`)).body, 'hello');
});

test('close() twice: the same promise, and the port is free afterwards', async () => {
  const listener = await startHttpListener({ host: '127.0.0.1', port: 0, handler: hello });
  const first = listener.close();
  const second = listener.close();
  assert.equal(first, second);
  await Promise.all([first, second]);
  assert.equal(listener.server.listening, false);
  // Closed for real: the same port can be bound again.
  const again = await startHttpListener({ host: '127.0.0.1', port: listener.port, handler: hello });
  await again.close();
  await listener.close(); // a third time, after the fact: still fine
});

test('close() destroys an idle keep-alive socket at once', async (t) => {
  // A long keep-alive, so only close() can end the idle connection within the test.
  const listener = await withListener(t, { keepAliveTimeoutMs: 60_000 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const sockets: Socket[] = [];
  const answer = await new Promise<string>((resolve, reject) => {
    const req = request(`http://127.0.0.1:${listener.port}/`, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('socket', (socket) => sockets.push(socket));
    req.on('error', reject);
    req.end();
  });
  assert.equal(answer, 'hello');
  const socket = sockets[0]!;
  // The answer is in; the connection stays open, idle, in the agent's pool.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(socket.destroyed, false, 'the keep-alive socket is still open before close()');
  // The agent unrefs its idle sockets; ref this one so the test waits to see it closed.
  socket.ref();
  const socketClosed = new Promise<string>((resolve) =>
    socket.once('close', () => resolve('closed')),
  );
  assert.notEqual(await within(listener.close()), 'too late');
  assert.equal(await within(socketClosed), 'closed');
});

test('close() destroys a half-open connection that never sent a request', async (t) => {
  const listener = await withListener(t);
  const socket = connect(listener.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n'); // headers never finished
  socket.on('error', () => {});
  const ended = new Promise<string>((resolve) => socket.once('close', () => resolve('closed')));
  assert.notEqual(await within(listener.close()), 'too late', 'close() waited for the client');
  assert.equal(await within(ended), 'closed');
});

test('garbage on the wire gets 400 and the connection is closed', async (t) => {
  const listener = await withListener(t);
  const socket = connect(listener.port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('NOT HTTP AT ALL\r\n\r\n');
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
});

test('timeouts are set on the server (slow headers cannot hold it)', async (t) => {
  const listener = await withListener(t, { headersTimeoutMs: 1234, requestTimeoutMs: 2345 });
  assert.equal(listener.server.headersTimeout, 1234);
  assert.equal(listener.server.requestTimeout, 2345);
  const defaults = await withListener(t);
  assert.equal(defaults.server.headersTimeout, 10_000);
  assert.equal(defaults.server.requestTimeout, 15_000);
  assert.equal(defaults.server.keepAliveTimeout, 500);
});

test('a busy port rejects with EADDRINUSE and leaves the holder serving', async (t) => {
  const holder = await withListener(t);
  await assert.rejects(
    startHttpListener({ host: '127.0.0.1', port: holder.port, handler: hello }),
    (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'EADDRINUSE');
      return true;
    },
  );
  assert.equal((await fetchText(`http://127.0.0.1:${holder.port}/`)).body, 'hello');
});
