/**
 * A local DingTalk: the authorize page and the three API endpoints muvee uses, with
 * DingTalk's bodies and error shapes (string `code`, `requestid`, `message`), single-use
 * expiring codes, expiring access tokens, registered redirect URIs and checked credentials.
 * Binds to 127.0.0.1 only.
 *
 * Flow: GET /oauth2/auth (validate, show users or auto-approve) → POST /oauth2/auth/decision
 * (302 to redirect_uri with code+authCode+state, or error=access_denied) →
 * POST /v1.0/oauth2/userAccessToken → GET /v1.0/contact/users/me.
 * Plus POST /v1.0/oauth2/accessToken (app credentials) and a control API under /__emulator/
 * for fault injection.
 *
 * @see ../../../shared/dingtalk-api.md
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { escapeHtml, page, PAGE_HEADERS } from '../net/html.js';
import { CliError } from '../cli/errors.js';
import { startHttpListener, type HttpListener } from '../net/http-listener.js';
import { createTokenSealer, MAX_SEALED_CLIENTS, MAX_SEALED_USERS } from './tokens.js';
import {
  BUILTIN_USERS,
  EMULATOR_CLIENT_ID,
  EMULATOR_CLIENT_SECRET,
  type EmulatorUser,
} from './users.js';

export type Endpoint = 'authorize' | 'userAccessToken' | 'usersMe' | 'accessToken';
export const ENDPOINTS: readonly Endpoint[] = [
  'authorize',
  'userAccessToken',
  'usersMe',
  'accessToken',
];

/** What an endpoint does instead of its job, for tests. */
export interface Fault {
  /** Answer with this status (and `body`) instead of the real answer. */
  status?: number;
  body?: string;
  contentType?: string;
  /** Wait this long first (then answer normally, or with the fault). */
  latencyMs?: number;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** Apply to this many requests, then clear (default: until changed). */
  times?: number;
  /** authorize only: redirect with `code` and a different `authCode` (only `code` is valid). */
  splitCode?: boolean;
}

export interface EmulatorClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface EmulatorOptions {
  port?: number;
  users?: readonly EmulatorUser[];
  clients?: EmulatorClient[];
  /** Approve as this user at once instead of showing the page. */
  autoApprove?: string | undefined;
  codeTtlMs?: number;
  accessTokenTtlMs?: number;
  /** The clock, in milliseconds since the epoch (default `Date.now`; tests pass a fake). */
  now?: () => number;
  /**
   * Keep every token handed out in `issuedTokens` (tests). Off by default: the list would grow
   * with every login of a long-running emulator.
   */
  recordTokens?: boolean;
  faults?: Partial<Record<Endpoint, Fault>>;
}

export interface Emulator {
  /** `http://127.0.0.1:<port>`: use it for both DINGTALK_LOGIN_BASE and DINGTALK_API_BASE. */
  readonly url: string;
  readonly port: number;
  readonly users: readonly EmulatorUser[];
  registerRedirectUri(uri: string, clientId?: string): void;
  setFault(endpoint: Endpoint, fault: Fault | undefined): void;
  setAutoApprove(userId: string | undefined): void;
  /** Counts of requests per endpoint, for tests. */
  readonly hits: Record<Endpoint, number>;
  /**
   * Every access, refresh and app token handed out, for tests that look for leaks. Only with
   * `recordTokens` (it throws otherwise, so a test cannot look at an empty list by mistake).
   */
  readonly issuedTokens: readonly string[];
  /**
   * What it holds, for tests: codes not yet used (expired ones are swept) and spent refresh
   * tokens (kept until they would have expired, so each is refused a second time). Access
   * and refresh tokens themselves carry their grant (tokens.ts): nothing is held per token.
   */
  held(): { codes: number; spentRefreshTokens: number };
  close(): Promise<void>;
}

interface Grant {
  clientId: string;
  userIndex: number;
  scope: string;
  expiresAt: number;
  used: boolean;
}

const MAX_BODY = 64 * 1024;

/** The request's media type is exactly `application/json` (parameters such as charset allowed). */
function isJsonType(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? '';
  return type.split(';')[0]!.trim().toLowerCase() === 'application/json';
}
/** DingTalk's refresh tokens live 30 days (dingtalk-api.md §2). */
const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600_000;
/** How long an idle connection stays open: Node's default, long enough for clients to reuse. */
const KEEP_ALIVE_MS = 5000;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const users = [...(options.users ?? BUILTIN_USERS)];
  const clients = new Map<string, EmulatorClient>();
  for (const client of options.clients ?? [
    { clientId: EMULATOR_CLIENT_ID, clientSecret: EMULATOR_CLIENT_SECRET, redirectUris: [] },
  ]) {
    clients.set(client.clientId, { ...client, redirectUris: [...client.redirectUris] });
  }
  // Tokens name a user and an app by their index (tokens.ts).
  const clientList = [...clients.values()];
  if (users.length > MAX_SEALED_USERS || clientList.length > MAX_SEALED_CLIENTS) {
    throw new CliError(
      'usage',
      `the emulator takes at most ${MAX_SEALED_USERS} users and ${MAX_SEALED_CLIENTS} apps (got ${users.length} and ${clientList.length})`,
    );
  }
  const now = options.now ?? Date.now;
  const sealer = createTokenSealer();
  const codeTtl = options.codeTtlMs ?? 5 * 60_000;
  const tokenTtl = options.accessTokenTtlMs ?? 7200_000;
  const faults = new Map<Endpoint, Fault>(
    Object.entries(options.faults ?? {}) as [Endpoint, Fault][],
  );
  let autoApprove = options.autoApprove;
  const grants = new Map<string, Grant>();
  /** Refresh tokens already used (single use), each with the instant it expires anyway. */
  const spentRefreshTokens = new Map<string, number>();
  const hits: Record<Endpoint, number> = {
    authorize: 0,
    userAccessToken: 0,
    usersMe: 0,
    accessToken: 0,
  };
  const timers = new Set<NodeJS.Timeout>();
  const issuedTokens: string[] | undefined = options.recordTokens ? [] : undefined;

  /**
   * Drops expired codes and spent refresh tokens past their expiry, at most once a second (a
   * long-running emulator holds only live ones). An expired code is refused exactly as an
   * unknown one, and an expired refresh token is refused whether spent or not, so this changes
   * no answer; a spent code is dropped when it is used.
   */
  let nextSweep = 0;
  function sweep(at = now()): void {
    if (at < nextSweep) return;
    nextSweep = at + 1000;
    for (const [code, grant] of grants) if (grant.expiresAt < at) grants.delete(code);
    for (const [token, expiresAt] of spentRefreshTokens)
      if (expiresAt < at) spentRefreshTokens.delete(token);
  }

  const findUser = (id: string) => users.find((u) => u.id === id || u.unionId === id);
  if (autoApprove !== undefined && !findUser(autoApprove)) {
    throw new CliError(
      'usage',
      `--auto-approve '${autoApprove}' is not an emulated user; choose one of ${users.map((u) => u.id).join(', ')}`,
    );
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /** Counts one use of a fault limited by `times`. */
  function consumeFault(endpoint: Endpoint, fault: Fault): void {
    if (fault.times === undefined) return;
    if (fault.times <= 1) faults.delete(endpoint);
    else faults.set(endpoint, { ...fault, times: fault.times - 1 });
  }

  /** Applies the endpoint's fault; true when it answered (or dropped) the request itself. */
  async function applyFault(
    endpoint: Endpoint,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean> {
    const fault = faults.get(endpoint);
    // A split code is applied (and counted) where the code is handed out: approve().
    if (!fault || fault.splitCode) return false;
    consumeFault(endpoint, fault);
    if (fault.latencyMs) await sleep(fault.latencyMs);
    if (res.destroyed || req.socket.destroyed) return true;
    if (fault.reset) {
      req.socket.destroy();
      return true;
    }
    if (fault.status !== undefined) {
      res.writeHead(fault.status, {
        'content-type': fault.contentType ?? 'application/json;charset=utf-8',
      });
      res.end(fault.body ?? '');
      return true;
    }
    return false;
  }

  function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json;charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  /** DingTalk's error shape: `{requestid, code, message}` with a string code. */
  function apiError(
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    extra: Record<string, unknown> = {},
  ): void {
    sendJson(res, status, { requestid: randomUUID().toUpperCase(), code, message, ...extra });
  }

  function sendPage(res: ServerResponse, status: number, title: string, body: string): void {
    res.writeHead(status, PAGE_HEADERS);
    res.end(page(title, body));
  }

  /** DingTalk's own error page for a bad authorize request. */
  function invalidRequest(res: ServerResponse, problem: string): void {
    sendPage(res, 400, 'Invalid request', `<h1>Invalid request</h1><p>${escapeHtml(problem)}</p>`);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new Error('body too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /**
   * Parses a JSON body the way DingTalk's gateway does: anything else has no fields. The media
   * type must be `application/json` itself, not merely mention it (`text/plain;
   * application/json` is a type a browser sends cross-origin without asking).
   */
  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const text = await readBody(req);
    if (!isJsonType(req)) return {};
    try {
      const value: unknown = JSON.parse(text);
      return value && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : {};
    } catch {
      return {};
    }
  }

  /**
   * The control API (`/__emulator/…`) changes what the emulator accepts (redirect URIs,
   * faults): only this machine's tools may use it, never a web page. A page on another local
   * origin can send a request but not these: its `Origin` (or `Sec-Fetch-Site`) is foreign; a
   * JSON body needs `Content-Type: application/json`, which no page can send cross-origin without
   * a preflight that is never answered; and a `Host` other than this emulator's own (a
   * DNS-rebinding name) is refused. Issue 20 L10.
   */
  function controlRefusal(req: IncomingMessage): { status: number; message: string } | undefined {
    const port = req.socket.localPort;
    const own = [`127.0.0.1:${port}`, `localhost:${port}`];
    const host = (req.headers.host ?? '').toLowerCase();
    if (!own.includes(host))
      return { status: 403, message: `the control API answers only Host ${own.join(' or ')}` };
    const origin = req.headers.origin;
    if (origin !== undefined && !own.some((h) => origin.toLowerCase() === `http://${h}`))
      return { status: 403, message: 'the control API refuses requests from web pages' };
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none')
      return { status: 403, message: 'the control API refuses requests from web pages' };
    if (req.method === 'OPTIONS')
      return { status: 403, message: 'the control API answers no cross-origin preflight' };
    if ((req.method === 'PUT' || req.method === 'POST') && !isJsonType(req))
      return {
        status: 415,
        message: 'send the control API a JSON body with Content-Type: application/json',
      };
    return undefined;
  }

  function authorizeProblem(params: URLSearchParams): string | undefined {
    const clientId = params.get('client_id');
    const client = clientId ? clients.get(clientId) : undefined;
    if (!client) return `client_id '${clientId ?? ''}' is not a known app (check the AppKey)`;
    if (params.get('response_type') !== 'code') return "response_type must be 'code'";
    const scope = params.get('scope');
    if (scope !== 'openid' && scope !== 'openid corpid')
      return "scope must be 'openid' or 'openid corpid'";
    if (params.get('prompt') !== 'consent') return "prompt must be 'consent'";
    const redirect = params.get('redirect_uri') ?? '';
    if (!client.redirectUris.includes(redirect)) {
      return `redirect_uri '${redirect}' is not registered for this app (registered: ${client.redirectUris.join(', ') || 'none'})`;
    }
    return undefined;
  }

  function redirectTo(
    res: ServerResponse,
    redirectUri: string,
    params: Record<string, string>,
  ): void {
    const target = new URL(redirectUri);
    for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
    res.writeHead(302, {
      location: target.toString(),
      'cache-control': 'no-store',
      'content-length': 0,
    });
    res.end();
  }

  function approve(res: ServerResponse, params: URLSearchParams, user: EmulatorUser): void {
    const code = randomBytes(16).toString('hex');
    sweep();
    grants.set(code, {
      clientId: params.get('client_id') ?? '',
      userIndex: users.indexOf(user),
      scope: params.get('scope') ?? 'openid',
      expiresAt: now() + codeTtl,
      used: false,
    });
    const state = params.get('state');
    const split = faults.get('authorize');
    if (split?.splitCode) consumeFault('authorize', split);
    // As the official tutorial shows: both names, same value (unless a fault splits them).
    redirectTo(res, params.get('redirect_uri') ?? '', {
      code,
      authCode: split?.splitCode ? randomBytes(16).toString('hex') : code,
      ...(state !== null ? { state } : {}),
    });
  }

  function loginPage(params: URLSearchParams): string {
    const hidden = ['client_id', 'response_type', 'scope', 'prompt', 'state', 'redirect_uri']
      .filter((name) => params.get(name) !== null)
      .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(params.get(name))}">`)
      .join('\n');
    const list = users
      .map(
        (
          u,
          i,
        ) => `<label class="user"><input type="radio" name="user" value="${escapeHtml(u.id)}"${i === 0 ? ' checked' : ''}>
<span class="avatar">${escapeHtml([...u.nick][0] ?? '?')}</span>
<span class="who"><strong>${escapeHtml(u.nick)}</strong> <small>${escapeHtml(u.email || 'no email')} · ${escapeHtml(u.id)}${u.noProfilePermission ? ' · no profile permission' : ''}</small></span></label>`,
      )
      .join('\n');
    return `<div class="badge brand">钉</div>
<h1>DingTalk login (emulator)</h1>
<p>The app <code>${escapeHtml(params.get('client_id'))}</code> asks to read your DingTalk profile. Choose who signs in:</p>
<form method="post" action="/oauth2/auth/decision">
${hidden}
${list}
<div class="buttons"><button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="deny" type="submit" name="decision" value="deny">Deny</button></div>
</form>
<p class="muted">muvee-dingtalk emulator: no real DingTalk account is involved.</p>`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    if (url.pathname.startsWith('/__emulator/')) {
      const refusal = controlRefusal(req);
      if (refusal) return sendJson(res, refusal.status, { error: refusal.message });
    }
    switch (route) {
      case 'GET /oauth2/auth': {
        hits.authorize++;
        if (await applyFault('authorize', req, res)) return;
        const problem = authorizeProblem(url.searchParams);
        if (problem) {
          return invalidRequest(res, problem);
        }
        const auto = autoApprove !== undefined ? findUser(autoApprove) : undefined;
        if (auto) return approve(res, url.searchParams, auto);
        return sendPage(res, 200, 'DingTalk login (emulator)', loginPage(url.searchParams));
      }
      case 'POST /oauth2/auth/decision': {
        const form = new URLSearchParams(await readBody(req));
        const problem = authorizeProblem(form);
        if (problem) {
          return invalidRequest(res, problem);
        }
        if (form.get('decision') !== 'approve') {
          const state = form.get('state');
          return redirectTo(res, form.get('redirect_uri') ?? '', {
            error: 'access_denied',
            ...(state !== null ? { state } : {}),
          });
        }
        const user = findUser(form.get('user') ?? '');
        if (!user) return invalidRequest(res, 'choose a user');
        return approve(res, form, user);
      }
      case 'POST /v1.0/oauth2/userAccessToken':
        hits.userAccessToken++;
        if (await applyFault('userAccessToken', req, res)) return;
        return userAccessToken(res, await readJson(req));
      case 'GET /v1.0/contact/users/me':
        hits.usersMe++;
        if (await applyFault('usersMe', req, res)) return;
        return usersMe(req, res);
      case 'POST /v1.0/oauth2/accessToken':
        hits.accessToken++;
        if (await applyFault('accessToken', req, res)) return;
        return appAccessToken(res, await readJson(req));
      case 'GET /__emulator/health':
        return sendJson(res, 200, { ok: true, users: users.map((u) => u.id) });
      case 'PUT /__emulator/faults':
      case 'POST /__emulator/faults': {
        const body = await readJson(req);
        for (const [endpoint, fault] of Object.entries(body)) {
          if (!ENDPOINTS.includes(endpoint as Endpoint)) {
            return sendJson(res, 400, {
              error: `unknown endpoint '${endpoint}'; one of ${ENDPOINTS.join(', ')}`,
            });
          }
          setFault(endpoint as Endpoint, fault === null ? undefined : (fault as Fault));
        }
        return sendJson(res, 200, { faults: Object.fromEntries(faults) });
      }
      case 'DELETE /__emulator/faults':
        faults.clear();
        return sendJson(res, 200, { faults: {} });
      case 'POST /__emulator/redirect-uris': {
        const body = await readJson(req);
        if (typeof body.uri !== 'string')
          return sendJson(res, 400, { error: 'expected {"uri": "..."}' });
        registerRedirectUri(
          body.uri,
          typeof body.clientId === 'string' ? body.clientId : undefined,
        );
        return sendJson(res, 200, { ok: true });
      }
      default:
        if (url.pathname.startsWith('/v1.0/')) {
          return apiError(
            res,
            404,
            'InvalidAction.NotFound',
            'Specified api is not found, please check your url and method.',
          );
        }
        return sendPage(res, 404, 'Not found', '<h1>Not found</h1>');
    }
  }

  function userAccessToken(res: ServerResponse, body: Record<string, unknown>): void {
    for (const field of ['clientId', 'clientSecret', 'grantType']) {
      if (typeof body[field] !== 'string' || body[field] === '') {
        return apiError(res, 400, `Missing${field}`, `${field} is mandatory for this action.`);
      }
    }
    const client = clients.get(body.clientId as string);
    if (!client || client.clientSecret !== body.clientSecret) {
      return apiError(res, 400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
    }
    const clientIndex = clientList.indexOf(client);
    let userIndex: number;
    let corpId: boolean;
    if (body.grantType === 'authorization_code') {
      if (typeof body.code !== 'string' || body.code === '') {
        return apiError(res, 400, 'Missingcode', 'code is mandatory for this action.');
      }
      const grant = grants.get(body.code);
      if (!grant || grant.used || grant.expiresAt < now() || grant.clientId !== client.clientId) {
        return apiError(res, 400, 'invalidParameter.authCode.notFound', '不合法的临时授权码');
      }
      grant.used = true;
      grants.delete(body.code); // single use: from now on it is refused as unknown
      userIndex = grant.userIndex;
      corpId = grant.scope.includes('corpid');
    } else if (body.grantType === 'refresh_token') {
      const token = typeof body.refreshToken === 'string' ? body.refreshToken : '';
      const refresh = sealer.open(token);
      if (
        refresh?.kind !== 'refresh' ||
        refresh.clientIndex !== clientIndex ||
        refresh.expiresAt < now() ||
        spentRefreshTokens.has(token)
      ) {
        return apiError(res, 400, 'invalidParameter.refreshToken.notFound', '不合法的refreshToken');
      }
      sweep();
      spentRefreshTokens.set(token, refresh.expiresAt); // single use
      userIndex = refresh.userIndex;
      corpId = refresh.corpId;
    } else {
      return apiError(
        res,
        400,
        'invalidParameter.grantType.invalid',
        'grantType只能是authorization_code或refresh_token',
      );
    }
    const issuedAt = now();
    // Two plain literals, not `{ ...grant, kind }`: on Node 20 (V8 11.3) an object spread on a
    // path this hot made a tenth of all allocation survive young-generation GCs.
    const accessToken = sealer.seal({
      kind: 'access',
      userIndex,
      clientIndex,
      corpId,
      expiresAt: issuedAt + tokenTtl,
    });
    const refreshToken = sealer.seal({
      kind: 'refresh',
      userIndex,
      clientIndex,
      corpId,
      expiresAt: issuedAt + REFRESH_TOKEN_TTL_MS,
    });
    issuedTokens?.push(accessToken, refreshToken);
    return sendJson(res, 200, {
      accessToken,
      refreshToken,
      expireIn: Math.round(tokenTtl / 1000),
      ...(corpId ? { corpId: 'dingemulatorcorp0001' } : {}),
    });
  }

  function usersMe(req: IncomingMessage, res: ServerResponse): void {
    const header = req.headers['x-acs-dingtalk-access-token'];
    const accessToken = Array.isArray(header) ? header[0] : header;
    if (!accessToken) {
      return apiError(
        res,
        400,
        'AuthenticationFailed.MissingParameter',
        '缺少参数：x-acs-dingtalk-access-token',
      );
    }
    const token = sealer.open(accessToken);
    if (token?.kind !== 'access' || token.expiresAt < now()) {
      return apiError(res, 400, 'InvalidAuthentication', '不合法的access_token');
    }
    const user = users[token.userIndex];
    if (!user) return apiError(res, 404, 'invalidParameter.user.notFound', '找不到该用户');
    if (user.noProfilePermission) {
      return apiError(
        res,
        403,
        'Forbidden.AccessDenied.AccessTokenPermissionDenied',
        '没有调用该接口的权限',
        {
          accessdenieddetail: { requiredScopes: ['Contact.User.Read'] },
        },
      );
    }
    const profile: Record<string, unknown> = {
      nick: user.nick,
      avatarUrl: user.avatarUrl ?? '',
      openId: user.openId,
      unionId: user.unionId,
      stateCode: user.stateCode ?? '86',
    };
    if (user.mobile) profile.mobile = user.mobile;
    if (user.email !== undefined) profile.email = user.email;
    return sendJson(res, 200, profile);
  }

  function appAccessToken(res: ServerResponse, body: Record<string, unknown>): void {
    for (const field of ['appKey', 'appSecret']) {
      if (typeof body[field] !== 'string' || body[field] === '') {
        return apiError(res, 400, `Missing${field}`, `${field} is mandatory for this action.`);
      }
    }
    const client = clients.get(body.appKey as string);
    if (!client || client.clientSecret !== body.appSecret) {
      return apiError(res, 400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
    }
    const appToken = randomBytes(16).toString('hex');
    issuedTokens?.push(appToken);
    return sendJson(res, 200, { accessToken: appToken, expireIn: 7200 });
  }

  function registerRedirectUri(uri: string, clientId?: string): void {
    const targets = clientId ? [clients.get(clientId)] : [...clients.values()];
    for (const client of targets) {
      if (client && !client.redirectUris.includes(uri)) client.redirectUris.push(uri);
    }
  }

  function setFault(endpoint: Endpoint, fault: Fault | undefined): void {
    if (fault === undefined) faults.delete(endpoint);
    else faults.set(endpoint, fault);
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) {
        req.socket.destroy();
        return;
      }
      apiError(
        res,
        400,
        'InvalidParameter',
        error instanceof Error ? error.message : 'bad request',
      );
    });
  };
  let listener: HttpListener;
  try {
    listener = await startHttpListener({
      host: '127.0.0.1',
      port: options.port ?? 0,
      handler,
      // Announced as `Keep-Alive: timeout=5`. Clients reuse a connection only if the announced
      // idle time exceeds their safety margin (Node's http.Agent 1 s, undici 2 s): at 1 s none
      // did, so every request was a new TCP connection, whose server-side objects outlive
      // V8's young-generation collections and made the emulator's heap grow under load.
      keepAliveTimeoutMs: KEEP_ALIVE_MS,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(
        'port-busy',
        `port ${options.port} on 127.0.0.1 is already in use; pass another --port, or 0 for any free port`,
        { cause: error },
      );
    }
    throw error;
  }
  const { port } = listener;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    users,
    hits,
    get issuedTokens() {
      if (!issuedTokens)
        throw new Error('issuedTokens needs startEmulator({ recordTokens: true })');
      return issuedTokens;
    },
    held: () => ({ codes: grants.size, spentRefreshTokens: spentRefreshTokens.size }),
    registerRedirectUri,
    setFault,
    setAutoApprove(userId) {
      autoApprove = userId;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return listener.close();
    },
  };
}
