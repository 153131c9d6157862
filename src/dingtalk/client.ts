/**
 * The one way to DingTalk's API. Every call goes through {@link DingTalkClient}, which takes
 * the API base URL and an optional undici `Dispatcher`, so tests and the emulator can point
 * it anywhere.
 *
 * Flow of a call: `send()` does the HTTP (undici, JSON body, timeout) → a pure `parse…()`
 * judges status and body and either returns typed data or throws a `CliError` with
 * DingTalk's string `code`, its `requestid`, and a hint for known codes.
 *
 * @see ../../../shared/dingtalk-api.md §2–§5
 */
import type { Profile } from './profile.js';
import { Agent, request, type Dispatcher } from 'undici';
import { CliError, isCliError } from '../cli/errors.js';
import { hintFor } from './hints.js';
import { harvestSecrets, redactDeep, redactText } from './redact.js';
import type { Tracer } from './trace.js';

export const DEFAULT_TIMEOUT_MS = 10_000;

const MAX_BODY_BYTES = 1024 * 1024;

export type Step = 'code exchange' | 'profile' | 'app token';

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

/** An HTTP answer reduced to what the parsers judge. */
export interface ApiResponse {
  status: number;
  contentType: string;
  text: string;
}

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

export interface DingTalkClientOptions {
  apiBase: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  /** Awaited once, before the first request (the bin's start-up trick: runtime/wasm.ts). */
  beforeFirstRequest?: (() => Promise<void>) | undefined;
  /** `--verbose`: told of each request and answer (trace.ts redacts). */
  trace?: Tracer | undefined;
}

export class DingTalkClient {
  readonly apiBase: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
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
    // An own agent, closed by close(), so no idle keep-alive socket holds the process open.
    this.ownDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({ keepAliveTimeout: 1000, connect: { timeout: this.timeoutMs } });
  }

  /** Releases the client's own connections (an injected dispatcher is left alone). */
  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher.destroy();
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
    const first = this.beforeFirstRequest;
    this.beforeFirstRequest = undefined;
    await first?.();
    for (const secret of options.secrets) if (secret.length >= 4) this.known.add(secret);
    this.trace?.request(method, url, headers, options.body, [...this.known]);
    const started = performance.now();
    try {
      const response = await request(url, {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
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
      const answer = {
        status: response.statusCode,
        contentType: (Array.isArray(contentType) ? contentType[0] : contentType) ?? '',
        text: Buffer.concat(chunks).toString('utf8'),
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

/**
 * Pure: DingTalk's text (an error code, message, request id, scope, content type) with every
 * known secret, credential-named value and token-shaped run cut out (redact.ts).
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  return redactText(text, secrets);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function describeBody(response: ApiResponse, secrets: readonly (string | undefined)[]): string {
  const type = redact(response.contentType.split(';')[0]?.trim() || 'no content type', secrets);
  if (response.text.trim() === '') return 'an empty body';
  if (/html/i.test(type) || /^\s*</.test(response.text)) return `an HTML page (${type})`;
  return `a body that is not JSON (${type})`;
}

/**
 * Pure: judges any DingTalk API answer. Returns the JSON object of a 2xx answer; throws the
 * matching `CliError` otherwise: 4xx → `dingtalk-refused` (exit 3), 5xx →
 * `dingtalk-unavailable` (exit 4), a 2xx that is not JSON → `dingtalk-bad-response` (exit 4).
 */
export function judgeResponse(
  step: Step,
  response: ApiResponse,
  secrets: readonly (string | undefined)[] = [],
): Record<string, unknown> {
  const body = parseJsonObject(response.text);
  const rawCode = typeof body?.code === 'string' && body.code !== '' ? body.code : undefined;
  const ok = response.status >= 200 && response.status < 300;
  if (ok && body && rawCode === undefined) return body;
  // An echoing proxy may put the secret, the code or a token in the code itself.
  const dtCode = rawCode === undefined ? undefined : redact(rawCode, secrets);

  if (!ok && response.status >= 500) {
    throw new CliError(
      'dingtalk-unavailable',
      `DingTalk failed the ${step} with HTTP ${response.status}${dtCode ? ` (${dtCode})` : ''}; it is having trouble, try again in a minute`,
      { details: { step, status: response.status, dingtalkCode: dtCode ?? null } },
    );
  }
  if (rawCode !== undefined && dtCode !== undefined && body) {
    const message = redact(typeof body.message === 'string' ? body.message : '', secrets);
    // A proxy that echoes the request could put the secret anywhere: redact every field.
    const requestId =
      typeof body.requestid === 'string' ? redact(body.requestid, secrets) : undefined;
    const detail = body.accessdenieddetail as { requiredScopes?: unknown } | undefined;
    const scopes = Array.isArray(detail?.requiredScopes)
      ? detail.requiredScopes
          .filter((s): s is string => typeof s === 'string')
          .map((s) => redact(s, secrets))
      : [];
    throw new CliError(
      'dingtalk-refused',
      `DingTalk refused the ${step}: ${dtCode}${message ? ` (${message})` : ''}` +
        `${scopes.length ? `, required scopes: ${scopes.join(', ')}` : ''}` +
        `${requestId ? `, request id ${requestId}` : ''}; ${hintFor(rawCode, scopes)}`,
      {
        details: {
          step,
          status: response.status,
          dingtalkCode: dtCode,
          dingtalkMessage: message,
          requestId: requestId ?? null,
          ...(scopes.length ? { requiredScopes: scopes } : {}),
        },
      },
    );
  }
  if (!ok) {
    const throttled = response.status === 429 || response.status === 403;
    throw new CliError(
      'dingtalk-refused',
      `DingTalk refused the ${step} with HTTP ${response.status} and ${describeBody(response, secrets)}; ` +
        (throttled
          ? 'DingTalk blocks an IP that calls too often for 5 minutes: wait, then try again'
          : 'check DINGTALK_API_BASE and any proxy between here and DingTalk'),
      { details: { step, status: response.status } },
    );
  }
  throw new CliError(
    'dingtalk-bad-response',
    `DingTalk answered the ${step} with HTTP ${response.status} and ${describeBody(response, secrets)}, not its JSON API; check DINGTALK_API_BASE and any proxy or captive portal`,
    { details: { step, status: response.status } },
  );
}

function missingField(step: Step, field: string, response: ApiResponse): CliError {
  return new CliError(
    'dingtalk-bad-response',
    `DingTalk's ${step} answer (HTTP ${response.status}) has no ${field}; check DINGTALK_API_BASE and any proxy`,
    { details: { step, status: response.status, missing: field } },
  );
}

const PROFILE_STRINGS = ['nick', 'avatarUrl', 'mobile', 'openId', 'unionId', 'email', 'stateCode'];

const optionalString = (value: unknown) => (typeof value === 'string' ? value : undefined);
const optionalNumber = (value: unknown) => (typeof value === 'number' ? value : undefined);

/**
 * Pure: the error, with what muvee's server would do instead (it is more lenient: it checks
 * no HTTP status, shared/muvee-server.md §1). `details.muvee` carries the sentence.
 */
export function withMuveeNote(error: CliError, note: string): CliError {
  return new CliError(error.code, `${error.message}. ${note}`, {
    cause: error.cause,
    details: { ...error.details, muvee: note },
  });
}

function bodyOf(response: ApiResponse): Record<string, unknown> | undefined {
  return parseJsonObject(response.text);
}

/** Pure: what muvee does with a profile answer this tool refuses (any JSON object is used). */
function muveeProfileNote(body: Record<string, unknown>): string {
  const email = typeof body.email === 'string' ? body.email : '';
  const unionId = typeof body.unionId === 'string' ? body.unionId : '';
  const as = email || `${unionId}@dingtalk.local`;
  return as === '@dingtalk.local'
    ? "muvee itself would sign this person in as '@dingtalk.local', one account shared by every such person: add Contact.User.Read to the app (权限管理) so each person gets their own"
    : `muvee itself would sign this person in as '${as}' (it does not check the HTTP status)`;
}

/** Pure: `{accessToken, refreshToken, expireIn, corpId?}` of the code exchange. */
export function parseUserTokenResponse(
  response: ApiResponse,
  secrets: readonly (string | undefined)[] = [],
): UserToken {
  let body: Record<string, unknown>;
  try {
    body = judgeResponse('code exchange', response, secrets);
  } catch (error) {
    const lenient = bodyOf(response)?.accessToken;
    if (error instanceof CliError && typeof lenient === 'string' && lenient !== '') {
      throw withMuveeNote(
        error,
        'muvee itself would accept this answer, since its body has an accessToken (muvee does not check the HTTP status), and go on with the login',
      );
    }
    throw error;
  }
  if (typeof body.accessToken !== 'string' || body.accessToken === '') {
    throw missingField('code exchange', 'accessToken', response);
  }
  return {
    accessToken: body.accessToken,
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
  let body: Record<string, unknown>;
  try {
    // Shown and stored as DingTalk returned it, except a secret echoed into it (a proxy).
    body = redactDeep(judgeResponse('profile', response, secrets), known) as Record<
      string,
      unknown
    >;
  } catch (error) {
    const lenient = bodyOf(response);
    if (error instanceof CliError && lenient)
      throw withMuveeNote(
        error,
        redact(muveeProfileNote(redactDeep(lenient, known) as Record<string, unknown>), known),
      );
    throw error;
  }
  // Anyone can put anything in their own profile: a known field that is not a string is
  // dropped here rather than crash a login after the DB write.
  for (const field of PROFILE_STRINGS) {
    if (field in body && typeof body[field] !== 'string') delete body[field];
  }
  const has = (field: string) => typeof body[field] === 'string' && body[field] !== '';
  if (!has('unionId') && !has('email')) {
    throw withMuveeNote(
      missingField('profile', 'unionId or email', response),
      muveeProfileNote(body),
    );
  }
  return body as Profile;
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
