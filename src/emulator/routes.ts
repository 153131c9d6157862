/**
 * The emulator's routes: the dispatch of every request, the faults applied before an endpoint
 * does its job, the DingTalk API handlers (POST /v1.0/oauth2/userAccessToken,
 * GET /v1.0/contact/users/me, POST /v1.0/oauth2/accessToken) with DingTalk's bodies and error
 * shapes, and the control API under /__emulator/ (health, faults, redirect URIs). The
 * authorize page and its decision are in pages.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { ENDPOINTS, type Endpoint, type Fault } from './faults.js';
import { apiError, isJsonType, readJson, sendJson, sendPage } from './http.js';
import { authorize, decide } from './pages.js';
import type { EmulatorState } from './state.js';

/** DingTalk's refresh tokens live 30 days (dingtalk-api.md §2). */
const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600_000;

/** Applies the endpoint's fault; true when it answered (or dropped) the request itself. */
async function applyFault(
  state: EmulatorState,
  endpoint: Endpoint,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const fault = state.faults.get(endpoint);
  // A split code is applied (and counted) where the code is handed out: approve() in pages.ts.
  if (!fault || fault.splitCode) return false;
  state.consumeFault(endpoint, fault);
  if (fault.latencyMs) await state.sleep(fault.latencyMs);
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

async function handle(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { hits, faults } = state;
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const route = `${req.method} ${url.pathname}`;
  if (url.pathname.startsWith('/__emulator/')) {
    const refusal = controlRefusal(req);
    if (refusal) return sendJson(res, refusal.status, { error: refusal.message });
  }
  switch (route) {
    case 'GET /oauth2/auth':
      hits.authorize++;
      if (await applyFault(state, 'authorize', req, res)) return;
      return authorize(state, res, url.searchParams);
    case 'POST /oauth2/auth/decision':
      return decide(state, req, res);
    case 'POST /v1.0/oauth2/userAccessToken':
      hits.userAccessToken++;
      if (await applyFault(state, 'userAccessToken', req, res)) return;
      return userAccessToken(state, res, await readJson(req));
    case 'GET /v1.0/contact/users/me':
      hits.usersMe++;
      if (await applyFault(state, 'usersMe', req, res)) return;
      return usersMe(state, req, res);
    case 'POST /v1.0/oauth2/accessToken':
      hits.accessToken++;
      if (await applyFault(state, 'accessToken', req, res)) return;
      return appAccessToken(state, res, await readJson(req));
    case 'GET /__emulator/health':
      return sendJson(res, 200, { ok: true, users: state.users.map((u) => u.id) });
    case 'PUT /__emulator/faults':
    case 'POST /__emulator/faults': {
      const body = await readJson(req);
      for (const [endpoint, fault] of Object.entries(body)) {
        if (!ENDPOINTS.includes(endpoint as Endpoint)) {
          return sendJson(res, 400, {
            error: `unknown endpoint '${endpoint}'; one of ${ENDPOINTS.join(', ')}`,
          });
        }
        state.setFault(endpoint as Endpoint, fault === null ? undefined : (fault as Fault));
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
      state.registerRedirectUri(
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

function userAccessToken(
  state: EmulatorState,
  res: ServerResponse,
  body: Record<string, unknown>,
): void {
  const { now, sealer, tokenTtl } = state;
  for (const field of ['clientId', 'clientSecret', 'grantType']) {
    if (typeof body[field] !== 'string' || body[field] === '') {
      return apiError(res, 400, `Missing${field}`, `${field} is mandatory for this action.`);
    }
  }
  const client = state.clients.get(body.clientId as string);
  if (!client || client.clientSecret !== body.clientSecret) {
    return apiError(res, 400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
  }
  const clientIndex = state.clientList.indexOf(client);
  let userIndex: number;
  let corpId: boolean;
  if (body.grantType === 'authorization_code') {
    if (typeof body.code !== 'string' || body.code === '') {
      return apiError(res, 400, 'Missingcode', 'code is mandatory for this action.');
    }
    const grant = state.grants.get(body.code);
    if (!grant || grant.used || grant.expiresAt < now() || grant.clientId !== client.clientId) {
      return apiError(res, 400, 'invalidParameter.authCode.notFound', '不合法的临时授权码');
    }
    grant.used = true;
    state.grants.delete(body.code); // single use: from now on it is refused as unknown
    userIndex = grant.userIndex;
    corpId = grant.scope.includes('corpid');
  } else if (body.grantType === 'refresh_token') {
    const token = typeof body.refreshToken === 'string' ? body.refreshToken : '';
    const refresh = sealer.open(token);
    if (
      refresh?.kind !== 'refresh' ||
      refresh.clientIndex !== clientIndex ||
      refresh.expiresAt < now() ||
      state.spentRefreshTokens.has(token)
    ) {
      return apiError(res, 400, 'invalidParameter.refreshToken.notFound', '不合法的refreshToken');
    }
    state.sweep();
    state.spentRefreshTokens.set(token, refresh.expiresAt); // single use
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
  state.issuedTokens?.push(accessToken, refreshToken);
  return sendJson(res, 200, {
    accessToken,
    refreshToken,
    expireIn: Math.round(tokenTtl / 1000),
    ...(corpId ? { corpId: 'dingemulatorcorp0001' } : {}),
  });
}

function usersMe(state: EmulatorState, req: IncomingMessage, res: ServerResponse): void {
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
  const token = state.sealer.open(accessToken);
  if (token?.kind !== 'access' || token.expiresAt < state.now()) {
    return apiError(res, 400, 'InvalidAuthentication', '不合法的access_token');
  }
  const user = state.users[token.userIndex];
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

function appAccessToken(
  state: EmulatorState,
  res: ServerResponse,
  body: Record<string, unknown>,
): void {
  for (const field of ['appKey', 'appSecret']) {
    if (typeof body[field] !== 'string' || body[field] === '') {
      return apiError(res, 400, `Missing${field}`, `${field} is mandatory for this action.`);
    }
  }
  const client = state.clients.get(body.appKey as string);
  if (!client || client.clientSecret !== body.appSecret) {
    return apiError(res, 400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
  }
  const appToken = randomBytes(16).toString('hex');
  state.issuedTokens?.push(appToken);
  return sendJson(res, 200, { accessToken: appToken, expireIn: 7200 });
}

/** The listener's handler: a request that throws is answered in DingTalk's error shape. */
export function createHandler(
  state: EmulatorState,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(state, req, res).catch((error: unknown) => {
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
}
