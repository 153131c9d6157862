/**
 * The HTTP side of asking a deployed muvee (`check-config --muvee`, `verify-token --muvee`):
 * plain GETs with undici that never follow a redirect by themselves, read at most
 * {@link MAX_BODY_BYTES} of each answer, and give up after the timeout. What the answers
 * mean is judged in `checks.ts` (pure); this module only records them.
 *
 * Flow (the command runs the steps, and judges each before the next):
 * 1. `GET /api/auth/providers`; a redirect is followed by hand only on the same host name and
 *    at most {@link MAX_REDIRECT_HOPS} times, so the judge can name the chain or the loop
 *    (nothing secret is ever sent on these);
 * 2. `GET /auth/dingtalk/login` (the authorize redirect and the `oauth_state` cookie);
 * 3. `GET /auth/dingtalk/callback` with a state muvee never issued;
 * 4. `GET /api/me` with the probe session as `Authorization: Bearer`, only when one is given;
 *    the caller sends a token only to the URL the user named, over https or to loopback
 *    (`judgeMuveeUrl`).
 *
 * @see ../../../shared/muvee-server.md §6
 */
import { Agent, request, type Dispatcher } from 'undici';

/** The most of an answer's body that is read; the rest is dropped (`truncated`). */
export const MAX_BODY_BYTES = 64 * 1024;
/** Redirects of `GET /api/auth/providers` followed (same host name only), to explain them. */
export const MAX_REDIRECT_HOPS = 5;
/** Answer headers larger than this are refused by undici (`UND_ERR_HEADERS_OVERFLOW`). */
const MAX_HEADER_BYTES = 16 * 1024;

/** An answer, reduced to what the judges read. */
export interface HttpAnswer {
  status: number;
  /** The `Location` header, as sent. */
  location: string | undefined;
  setCookie: string[];
  contentType: string;
  /** The body as UTF-8, at most {@link MAX_BODY_BYTES} of it. */
  body: string;
  /** The body was longer than {@link MAX_BODY_BYTES}; the rest was not read. */
  truncated: boolean;
}

/** Why a request got no answer: the error's code and text, as Node and undici said them. */
export interface NetFailure {
  code: string;
  name: string;
  message: string;
}

/** One request and what came of it: an answer or a failure. */
export interface Exchange {
  url: string;
  answer?: HttpAnswer;
  failure?: NetFailure;
}

export interface ProbeOptions {
  /** muvee's base URL, already judged (`judgeMuveeUrl`). */
  base: URL;
  timeoutMs: number;
  /** Tests: an own dispatcher (e.g. one trusting a test CA). Left open by `close()`. */
  dispatcher?: Dispatcher;
  userAgent?: string;
}

/** The one HTTP client for muvee's routes. */
export class MuveeProbe {
  readonly base: URL;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  private readonly userAgent: string;

  constructor(options: ProbeOptions) {
    this.base = options.base;
    this.timeoutMs = options.timeoutMs;
    this.userAgent = options.userAgent ?? 'muvee-dingtalk';
    this.ownDispatcher = options.dispatcher === undefined;
    // An own agent, destroyed by close(): no keep-alive socket holds the process open.
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        keepAliveTimeout: 1000,
        maxHeaderSize: MAX_HEADER_BYTES,
        connect: { timeout: this.timeoutMs },
      });
  }

  /** The absolute URL of a muvee route (`/api/me`) under the base URL (and its path prefix). */
  url(path: string): string {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return `${this.base.origin}${prefix}${path}`;
  }

  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher.destroy();
  }

  /** One GET; never throws for a network failure (it is recorded), never follows a redirect. */
  async get(url: string, headers: Record<string, string> = {}): Promise<Exchange> {
    try {
      const response = await request(url, {
        method: 'GET',
        headers: {
          accept: 'application/json, text/plain;q=0.9, */*;q=0.5',
          'user-agent': this.userAgent,
          ...headers,
        },
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const { text, truncated } = await readBounded(response.body, MAX_BODY_BYTES);
      const header = (name: string) => {
        const value = response.headers[name];
        return Array.isArray(value) ? value : value === undefined ? [] : [value];
      };
      return {
        url,
        answer: {
          status: response.statusCode,
          location: header('location')[0],
          setCookie: header('set-cookie'),
          contentType: header('content-type')[0] ?? '',
          body: text,
          truncated,
        },
      };
    } catch (error) {
      return { url, failure: netFailure(error) };
    }
  }
}

/** Reads at most `limit` bytes of a body, then drops the rest (destroying the stream). */
async function readBounded(
  body: Dispatcher.ResponseData['body'],
  limit: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (size + buffer.length > limit) {
      chunks.push(buffer.subarray(0, limit - size));
      body.destroy();
      // A cut may split a character: the decoder shows the half as U+FFFD.
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    size += buffer.length;
    chunks.push(buffer);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

/** The code of a network error, from the error or its cause (undici wraps Node's). */
function netFailure(error: unknown): NetFailure {
  const err = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const code =
    typeof cause?.code === 'string' &&
    (typeof err.code !== 'string' || /^UND_ERR_SOCKET$|^UND_ERR_CONNECT/.test(err.code))
      ? cause.code
      : typeof err.code === 'string'
        ? err.code
        : typeof cause?.code === 'string'
          ? cause.code
          : '';
  const message =
    typeof cause?.message === 'string' && cause.message !== ''
      ? cause.message
      : typeof err.message === 'string'
        ? err.message
        : String(error);
  return { code, name: typeof err.name === 'string' ? err.name : '', message };
}

/** Same host name (scheme and port may change): the only redirects followed, to explain them. */
function sameHostName(a: string, b: URL): boolean {
  try {
    return new URL(a).hostname === b.hostname;
  } catch {
    return false;
  }
}

/**
 * Step 1: `GET /api/auth/providers`, then each redirect on the same host name, by hand, at
 * most {@link MAX_REDIRECT_HOPS}; nothing but the request line and two plain headers is sent.
 * A redirect back to a URL already asked ends the chain with `{ url }` alone (a loop).
 */
export async function fetchProviders(probe: MuveeProbe): Promise<Exchange[]> {
  const chain: Exchange[] = [];
  let url = probe.url('/api/auth/providers');
  const seen = new Set<string>();
  for (let hop = 0; ; hop++) {
    seen.add(url);
    const exchange = await probe.get(url);
    chain.push(exchange);
    const answer = exchange.answer;
    if (!answer || answer.status < 300 || answer.status > 399 || !answer.location) break;
    let next: string;
    try {
      next = new URL(answer.location, url).toString();
    } catch {
      break;
    }
    if (seen.has(next)) {
      chain.push({ url: next });
      break;
    }
    if (hop >= MAX_REDIRECT_HOPS || !sameHostName(next, probe.base)) break;
    url = next;
  }
  return chain;
}

/** Steps 2 and 3: the authorize redirect, and the callback with a state muvee never issued. */
export async function fetchLoginRoutes(
  probe: MuveeProbe,
  forgedState: string,
): Promise<{ login: Exchange; callback: Exchange }> {
  const login = await probe.get(probe.url('/auth/dingtalk/login'));
  const callback = await probe.get(
    probe.url(
      `/auth/dingtalk/callback?state=${encodeURIComponent(forgedState)}&code=muvee-dingtalk-probe`,
    ),
  );
  return { login, callback };
}

/**
 * Step 4: `GET /api/me` with `token` as `Authorization: Bearer` (muvee reads that first). The
 * caller has judged the base URL: https, or loopback (`judgeMuveeUrl`).
 */
export function fetchMe(probe: MuveeProbe, token: string): Promise<Exchange> {
  return probe.get(probe.url('/api/me'), { authorization: `Bearer ${token}` });
}
