/**
 * The one way to DingTalk's API. Every call goes through {@link DingTalkClient}, which takes
 * the API base URL and an optional undici `Dispatcher`, so tests and the emulator can point
 * it anywhere.
 *
 * Flow of a call: `send()` does the HTTP (undici, JSON body, timeout; node:http to this
 * process's own emulator, `loopback`) → a pure `parse…()`
 * judges status and body and either returns typed data or throws a `CliError` with
 * DingTalk's string `code`, its `requestid`, and a hint for known codes.
 *
 * @see ../../../shared/dingtalk-api.md §2–§5
 */
import type { Profile } from './profile.js';
import type { Dispatcher } from 'undici';
import { CliError, isCliError } from '../cli/errors.js';
import {
  muveeEmail,
  muveeReadsProfile,
  muveeReadsUserToken,
  PROFILE_FIELDS,
} from '../muvee/dingtalk-answers.js';
import { harvestSecrets, redactDeep } from './redact.js';
import {
  bytesOf,
  judgeResponse,
  redact,
  missingField,
  muveeCannotRead,
  withMuveeNote,
  type ApiResponse,
  type Step,
} from './judge.js';
import type { Tracer } from './trace.js';
import { loopbackRequest, type HttpAnswer, type HttpRequest } from '../net/loopback-request.js';

export { hintFor } from './hints.js';
export { judgeResponse, redact, withMuveeNote, type ApiResponse, type Step } from './judge.js';

export const DEFAULT_TIMEOUT_MS = 10_000;

const MAX_BODY_BYTES = 1024 * 1024;

export type { Profile } from './profile.js';

export interface UserToken {
  accessToken: string;
  refreshToken: string | undefined;
  expireIn: number | undefined;
  corpId: string | undefined;
}

export interface AppToken {
  accessToken: string;
  expireIn: number | undefined;
}

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

export interface DingTalkClientOptions {
  apiBase: string;
  dispatcher?: Dispatcher;
  /**
   * The API is this process's own emulator (`login --emulator`): requests go through node:http
   * (net/loopback-request.ts) instead of undici, which such a run then never loads.
   */
  loopback?: boolean;
  timeoutMs?: number;
  /**
   * Awaited once, before the first request through undici (the bin's start-up trick for
   * undici's WebAssembly: runtime/wasm.ts).
   */
  beforeFirstRequest?: (() => Promise<void>) | undefined;
  /** `--verbose`: told of each request and answer (trace.ts redacts). */
  trace?: Tracer | undefined;
}

export class DingTalkClient {
  readonly apiBase: string;
  /** Created with the first request through undici when none was given. */
  private dispatcher: Dispatcher | undefined;
  private readonly ownDispatcher: boolean;
  private readonly loopback: boolean;
  private readonly timeoutMs: number;
  private beforeFirstRequest: (() => Promise<void>) | undefined;
  private readonly trace: Tracer | undefined;
  /**
   * Every secret this client has sent or been sent (the app secret, codes, tokens, and any
   * credential-named value in an answer): cut out of everything any answer shows, whichever
   * step it came from (an echoing proxy may repeat an earlier request's secret).
   */
  private readonly known = new Set<string>();

  constructor(options: DingTalkClientOptions) {
    this.trace = options.trace;
    this.apiBase = options.apiBase.replace(/\/+$/, '');
    this.beforeFirstRequest = options.beforeFirstRequest;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ownDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher;
    this.loopback = options.loopback === true;
  }

  /** Releases the client's own connections (an injected dispatcher is left alone). */
  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher?.destroy();
  }

  /** One request through undici (loaded with the first one). */
  private async viaUndici(url: string, init: HttpRequest): Promise<HttpAnswer> {
    const { Agent, request } = await import('undici');
    // After undici is loaded: the hook may change V8's flags, and code compiled after that
    // cannot use a compiled-code cache (runtime/wasm.ts).
    const first = this.beforeFirstRequest;
    this.beforeFirstRequest = undefined;
    await first?.();
    // An own agent, closed by close(), so no idle keep-alive socket holds the process open.
    this.dispatcher ??= new Agent({ keepAliveTimeout: 1000, connect: { timeout: this.timeoutMs } });
    return request(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      dispatcher: this.dispatcher,
      headersTimeout: init.timeoutMs,
      bodyTimeout: init.timeoutMs,
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  }

  /** `POST /v1.0/oauth2/userAccessToken`: camelCase JSON, no redirect_uri, no auth header. */
  async exchangeCode(code: string, credentials: Credentials): Promise<UserToken> {
    const response = await this.send('code exchange', 'POST', '/v1.0/oauth2/userAccessToken', {
      body: {
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        code,
        grantType: 'authorization_code',
      },
      secrets: [credentials.clientSecret, code],
    });
    return parseUserTokenResponse(response, [...this.known]);
  }

  /** `GET /v1.0/contact/users/me` with the `x-acs-dingtalk-access-token` header. */
  async getProfile(accessToken: string): Promise<Profile> {
    const response = await this.send('profile', 'GET', '/v1.0/contact/users/me', {
      headers: { 'x-acs-dingtalk-access-token': accessToken },
      secrets: [accessToken],
    });
    return parseProfileResponse(response, [...this.known]);
  }

  /** `POST /v1.0/oauth2/accessToken`: checks AppKey/AppSecret without a user. */
  async getAppAccessToken(credentials: Credentials): Promise<AppToken> {
    const response = await this.send('app token', 'POST', '/v1.0/oauth2/accessToken', {
      body: { appKey: credentials.clientId, appSecret: credentials.clientSecret },
      secrets: [credentials.clientSecret],
    });
    return parseAppTokenResponse(response, [...this.known]);
  }

  private async send(
    step: Step,
    method: 'GET' | 'POST',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; secrets: readonly string[] },
  ): Promise<ApiResponse> {
    const url = `${this.apiBase}${path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    for (const secret of options.secrets) if (secret.length >= 4) this.known.add(secret);
    this.trace?.request(method, url, headers, options.body, [...this.known]);
    const started = performance.now();
    try {
      const init: HttpRequest = {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        timeoutMs: this.timeoutMs,
      };
      const response = this.loopback
        ? await loopbackRequest(url, init)
        : await this.viaUndici(url, init);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          response.body.destroy();
          throw new CliError(
            'dingtalk-bad-response',
            `DingTalk's ${step} answer is larger than 1 MiB; that is not DingTalk's API (check DINGTALK_API_BASE and any proxy)`,
          );
        }
        chunks.push(chunk as Buffer);
      }
      const contentType = response.headers['content-type'];
      const bytes = Buffer.concat(chunks);
      const answer = {
        status: response.statusCode,
        contentType: (Array.isArray(contentType) ? contentType[0] : contentType) ?? '',
        text: bytes.toString('utf8'),
        bytes,
      };
      // Learned before anything of the answer is shown: the tokens it carries, whatever its shape.
      for (const secret of harvestSecrets(answer.text)) this.known.add(secret);
      this.trace?.response(answer, performance.now() - started, [...this.known]);
      return answer;
    } catch (error) {
      if (isCliError(error)) throw error;
      this.trace?.failure(error, performance.now() - started);
      throw unreachable(step, this.apiBase, this.timeoutMs, error);
    }
  }
}

/** Pure: turns a network failure into the exit-4 error, naming what to check. */
export function unreachable(
  step: Step,
  apiBase: string,
  timeoutMs: number,
  error: unknown,
): CliError {
  const err = error as { code?: string; name?: string; cause?: { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  const timedOut =
    err.name === 'TimeoutError' ||
    err.name === 'AbortError' ||
    /TIMEOUT/.test(code) ||
    code === 'ETIMEDOUT';
  const why = timedOut
    ? `no answer within ${Math.round(timeoutMs / 1000)} s`
    : code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host not found'
        : code === 'UND_ERR_SOCKET' || code === 'ECONNRESET'
          ? 'connection closed before an answer'
          : code || (error instanceof Error ? error.message : String(error));
  return new CliError(
    'dingtalk-unreachable',
    `could not reach DingTalk for the ${step} at ${apiBase} (${why}); check the network, any proxy, and DINGTALK_API_BASE`,
    { cause: error, details: { step, reason: timedOut ? 'timeout' : code || 'network' } },
  );
}

const PROFILE_STRINGS = ['nick', 'avatarUrl', 'mobile', 'openId', 'unionId', 'email', 'stateCode'];

/** How deep a profile's value may nest and still be shown (JSON, text). */
const MAX_SHOWN_DEPTH = 64;

/** Pure: how many levels of arrays and objects `value` holds (iterative: any depth). */
function nesting(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const optionalString = (value: unknown) => (typeof value === 'string' ? value : undefined);
const optionalNumber = (value: unknown) => (typeof value === 'number' ? value : undefined);

/** Pure: what muvee does with a profile answer this tool refuses (muvee decoded it). */
function muveeProfileNote(values: Record<'email' | 'unionId', string>): string {
  const as = muveeEmail(values);
  return as === '@dingtalk.local'
    ? "muvee itself would sign this person in as '@dingtalk.local', one account shared by every such person: add Contact.User.Read to the app (权限管理) so each person gets their own"
    : `muvee itself would sign this person in as '${as}' (it does not check the HTTP status)`;
}

/** Pure: `{accessToken, refreshToken, expireIn, corpId?}` of the code exchange. */
export function parseUserTokenResponse(
  response: ApiResponse,
  secrets: readonly (string | undefined)[] = [],
): UserToken {
  // What muvee's Go reads (its verdict: a non-empty accessToken, whatever the status).
  const muvee = muveeReadsUserToken(bytesOf(response));
  const accessToken = muvee.ok ? muvee.values.accessToken : '';
  let body: Record<string, unknown>;
  try {
    body = judgeResponse('code exchange', response, secrets);
  } catch (error) {
    if (error instanceof CliError && accessToken !== '') {
      throw withMuveeNote(
        error,
        'muvee itself would accept this answer, since its body has an accessToken (muvee does not check the HTTP status), and go on with the login',
      );
    }
    throw error;
  }
  if (!muvee.ok) throw muveeCannotRead('code exchange', response, muvee.error);
  if (accessToken === '') throw missingField('code exchange', 'accessToken', response);
  return {
    accessToken,
    refreshToken: optionalString(body.refreshToken),
    expireIn: optionalNumber(body.expireIn),
    corpId: optionalString(body.corpId),
  };
}

/**
 * Pure: the profile, which must carry a `unionId` or an `email` (with an email alone muvee
 * signs the person in, and so does this). Where this refuses an answer muvee would use, the
 * error says what muvee does with it.
 */
export function parseProfileResponse(
  response: ApiResponse,
  secrets: readonly (string | undefined)[] = [],
): Profile {
  const known = secrets.filter((s): s is string => typeof s === 'string');
  // What muvee's Go reads: its fields decoded as encoding/json does, or its reason to fail.
  const muvee = muveeReadsProfile(bytesOf(response));
  let body: Record<string, unknown>;
  try {
    body = judgeResponse('profile', response, secrets);
  } catch (error) {
    if (error instanceof CliError && muvee.ok)
      throw withMuveeNote(error, redact(muveeProfileNote(muvee.values), known));
    throw error;
  }
  if (!muvee.ok) throw muveeCannotRead('profile', response, muvee.error);
  // The profile as DingTalk sent it, for display; the fields muvee reads as muvee reads them
  // (`Email` is email to Go; a duplicate key's last non-null value wins).
  for (const field of PROFILE_STRINGS) {
    if (field in body && typeof body[field] !== 'string') delete body[field];
  }
  // muvee ignores the other fields whatever they hold; one nested thousands of levels deep
  // would overflow the stack of whoever prints it: shown as a note instead.
  for (const [field, value] of Object.entries(body)) {
    const depth = nesting(value);
    if (depth > MAX_SHOWN_DEPTH) body[field] = `(a value nested ${depth} levels deep, not shown)`;
  }
  for (const field of PROFILE_FIELDS) {
    if (muvee.values[field] !== '') body[field] = muvee.values[field];
    else delete body[field];
  }
  if (muvee.values.unionId === '' && muvee.values.email === '') {
    throw withMuveeNote(
      missingField('profile', 'unionId or email', response),
      redact(muveeProfileNote(muvee.values), known),
    );
  }
  // Shown and stored as DingTalk returned it, except a secret echoed into it (a proxy).
  return redactDeep(body, known) as Profile;
}

/** Pure: the app token of `POST /v1.0/oauth2/accessToken`. */
export function parseAppTokenResponse(
  response: ApiResponse,
  secrets: readonly (string | undefined)[] = [],
): AppToken {
  const body = judgeResponse('app token', response, secrets);
  if (typeof body.accessToken !== 'string' || body.accessToken === '') {
    throw missingField('app token', 'accessToken', response);
  }
  return { accessToken: body.accessToken, expireIn: optionalNumber(body.expireIn) };
}
