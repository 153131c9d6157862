/**
 * The temporary loopback listener DingTalk redirects the browser to.
 *
 * Flow: bind (before the browser opens) → answer every request: only `GET <path>` with the
 * right state is accepted, everything else gets 404/405/400 and the wait goes on → hold the
 * accepted request open until the login finished, then send the success or failure page →
 * `close()`, which also destroys idle keep-alive sockets so the process can exit at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CallbackError, parseCallback, type CallbackResult } from '../dingtalk/authorize.js';
import { CliError } from '../cli/errors.js';
import { failurePage, PAGE_HEADERS } from '../net/html.js';
import {
  startHttpListener,
  type HttpListener,
  type HttpListenerOptions,
} from '../net/http-listener.js';

export interface AcceptedCallback {
  result: CallbackResult;
  /** Sends the final page on the held request; resolves once it is flushed. */
  respond(status: number, html: string): Promise<void>;
}

export interface CallbackServerOptions {
  host: string;
  port: number;
  path: string;
  expectedState: string;
  /** Told about every refused request (the login mentions them in the terminal). */
  onRejected?: (status: number, reason: string, path: string) => void;
  /** Timeouts and the connection cap of the listener (tests shorten them). */
  limits?: Pick<
    HttpListenerOptions,
    | 'headersTimeoutMs'
    | 'requestTimeoutMs'
    | 'keepAliveTimeoutMs'
    | 'checkIntervalMs'
    | 'maxConnections'
  >;
}

export interface CallbackServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly host: string;
  /** Resolves with the first accepted callback. Never rejects. */
  readonly accepted: Promise<AcceptedCallback>;
  close(): Promise<void>;
}

const MAX_URL_LENGTH = 8 * 1024;

function send(
  res: ServerResponse,
  status: number,
  html: string,
  extra: Record<string, string> = {},
): Promise<void> {
  return new Promise((resolve) => {
    if (res.writableEnded || res.destroyed) return resolve();
    res.writeHead(status, {
      ...PAGE_HEADERS,
      connection: 'close',
      'content-length': Buffer.byteLength(html),
      ...extra,
    });
    res.end(html, () => resolve());
    res.once('close', () => resolve());
  });
}

/** Binds the listener. A busy port is a `port-busy` error naming the port and the fix. */
export async function startCallbackServer(options: CallbackServerOptions): Promise<CallbackServer> {
  let settle!: (value: AcceptedCallback) => void;
  const accepted = new Promise<AcceptedCallback>((resolve) => (settle = resolve));
  let done = false;

  const reject = (
    res: ServerResponse,
    status: number,
    title: string,
    message: string,
    extra?: Record<string, string>,
  ) => {
    options.onRejected?.(status, message, (res.req.url ?? '/').split('?')[0]!.slice(0, 200));
    void send(
      res,
      status,
      failurePage(
        title,
        message,
        'This request was ignored; the login in the terminal is still waiting.',
      ),
      extra,
    );
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '/';
    if (target.length > MAX_URL_LENGTH)
      return reject(res, 414, 'URI too long', 'the request URL is too long');
    let url: URL;
    try {
      url = new URL(target, 'http://127.0.0.1');
    } catch {
      return reject(res, 400, 'Bad request', 'the request URL cannot be parsed');
    }
    if (url.pathname !== options.path)
      return reject(res, 404, 'Not found', 'this listener only serves the DingTalk callback');
    if (req.method !== 'GET') {
      return reject(res, 405, 'Method not allowed', 'the callback must be a GET request', {
        allow: 'GET',
      });
    }
    if (done)
      return reject(res, 400, 'Already used', 'this login has already received its callback');
    let result: CallbackResult;
    try {
      result = parseCallback(url, options.expectedState);
    } catch (error) {
      if (error instanceof CallbackError)
        return reject(res, 400, 'Callback refused', error.message);
      return reject(res, 400, 'Bad request', 'the callback cannot be read');
    }
    // Single use: the state is spent by the first acceptable callback.
    done = true;
    settle({ result, respond: (status, html) => send(res, status, html) });
  };

  // `localhost` may resolve to 127.0.0.1 or ::1 in the browser: both are bound. A machine
  // without IPv6 loopback is fine; ::1:port held by another process is not (it would receive
  // the browser's callback): port-busy, naming it. With port 0, another free port is tried.
  const wantsBoth = options.host === 'localhost';
  const primaryHost = wantsBoth ? '127.0.0.1' : options.host.replace(/^\[|\]$/g, '');
  const listen = (host: string, port: number) =>
    startHttpListener({ host, port, handler, ...options.limits });
  let listeners: HttpListener[] = [];
  for (let attempt = 1; ; attempt++) {
    let primary: HttpListener;
    try {
      primary = await listen(primaryHost, options.port);
    } catch (error) {
      throw bindError(error, primaryHost, options.port);
    }
    listeners = [primary];
    if (!wantsBoth) break;
    try {
      listeners.push(await listen('::1', primary.port));
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') break; // no IPv6 loopback here
      await primary.close();
      if (options.port === 0 && code === 'EADDRINUSE' && attempt < 5) continue;
      throw bindError(error, '::1', primary.port, 'localhost');
    }
  }
  const port = listeners[0]!.port;

  let closing: Promise<void> | undefined;
  return {
    port,
    host: primaryHost,
    accepted,
    close() {
      closing ??= Promise.all(listeners.map((listener) => listener.close())).then(() => undefined);
      return closing;
    },
  };
}

function bindError(error: unknown, host: string, port: number, asked?: string): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    const why = asked
      ? ` (${asked} means both 127.0.0.1 and ::1: a browser may pick either, and whatever holds [${host}]:${port} would receive the callback)`
      : '';
    return new CliError(
      'port-busy',
      `port ${port} on ${host} is already in use${why}, so the DingTalk callback cannot be received there; stop what holds it (\`lsof -i :${port}\`) or pass --listen 127.0.0.1:<free port> and forward the callback to it`,
      { cause: error, details: { host, port } },
    );
  }
  if (code === 'EACCES') {
    return new CliError(
      'port-busy',
      `not allowed to listen on ${host}:${port} (ports below 1024 need privileges); pass --listen 127.0.0.1:<port above 1024>`,
      { cause: error, details: { host, port } },
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new CliError(
      'usage',
      `cannot listen on ${host}: not an address of this machine; pass --listen 127.0.0.1:<port>`,
      { cause: error },
    );
  }
  return new CliError('internal', `cannot listen on ${host}:${port} (${code ?? String(error)})`, {
    cause: error,
  });
}
