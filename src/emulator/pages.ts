/**
 * The authorize page (GET /oauth2/auth) and its decision (POST /oauth2/auth/decision): the
 * checks of an authorize request, the page listing the users, and approving (a single-use
 * code, 302 to the redirect_uri with code+authCode+state) or denying (error=access_denied).
 * The fault and hit count of `authorize` are applied by routes.ts before it calls in here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../net/html.js';
import { readBody, sendPage } from './http.js';
import type { EmulatorState } from './state.js';
import type { EmulatorUser } from './users.js';

/** DingTalk's own error page for a bad authorize request. */
function invalidRequest(res: ServerResponse, problem: string): void {
  sendPage(res, 400, 'Invalid request', `<h1>Invalid request</h1><p>${escapeHtml(problem)}</p>`);
}

function authorizeProblem(state: EmulatorState, params: URLSearchParams): string | undefined {
  const clientId = params.get('client_id');
  const client = clientId ? state.clients.get(clientId) : undefined;
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

function approve(
  state: EmulatorState,
  res: ServerResponse,
  params: URLSearchParams,
  user: EmulatorUser,
): void {
  const code = randomBytes(16).toString('hex');
  state.sweep();
  state.grants.set(code, {
    clientId: params.get('client_id') ?? '',
    userIndex: state.users.indexOf(user),
    scope: params.get('scope') ?? 'openid',
    expiresAt: state.now() + state.codeTtl,
    used: false,
  });
  const stateParam = params.get('state');
  const split = state.faults.get('authorize');
  if (split?.splitCode) state.consumeFault('authorize', split);
  // As the official tutorial shows: both names, same value (unless a fault splits them).
  redirectTo(res, params.get('redirect_uri') ?? '', {
    code,
    authCode: split?.splitCode ? randomBytes(16).toString('hex') : code,
    ...(stateParam !== null ? { state: stateParam } : {}),
  });
}

function loginPage(state: EmulatorState, params: URLSearchParams): string {
  const hidden = ['client_id', 'response_type', 'scope', 'prompt', 'state', 'redirect_uri']
    .filter((name) => params.get(name) !== null)
    .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(params.get(name))}">`)
    .join('\n');
  const list = state.users
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

/** GET /oauth2/auth: validate, then auto-approve or show the users. */
export function authorize(
  state: EmulatorState,
  res: ServerResponse,
  params: URLSearchParams,
): void {
  const problem = authorizeProblem(state, params);
  if (problem) {
    return invalidRequest(res, problem);
  }
  const auto = state.autoApprove !== undefined ? state.findUser(state.autoApprove) : undefined;
  if (auto) return approve(state, res, params, auto);
  return sendPage(res, 200, 'DingTalk login (emulator)', loginPage(state, params));
}

/** POST /oauth2/auth/decision: the page's Approve or Deny. */
export async function decide(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const form = new URLSearchParams(await readBody(req));
  const problem = authorizeProblem(state, form);
  if (problem) {
    return invalidRequest(res, problem);
  }
  if (form.get('decision') !== 'approve') {
    const stateParam = form.get('state');
    return redirectTo(res, form.get('redirect_uri') ?? '', {
      error: 'access_denied',
      ...(stateParam !== null ? { state: stateParam } : {}),
    });
  }
  const user = state.findUser(form.get('user') ?? '');
  if (!user) return invalidRequest(res, 'choose a user');
  return approve(state, res, form, user);
}
