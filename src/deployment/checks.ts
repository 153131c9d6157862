/**
 * Pure judges of a deployed muvee's answers (`check-config --muvee`, `verify-token --muvee`):
 * what `probe.ts` recorded in, one {@link Check} per question out, each message ending with
 * the fix. Every piece of the remote's text that a message quotes is cut short and made safe
 * for a terminal here ({@link quote}), so no format (text, JSON, JUnit, GitHub) carries a
 * hostile muvee's escape sequences or megabytes.
 *
 * @see ../../../shared/muvee-server.md §6 (what muvee's own handlers answer)
 */
import type { Check } from '../config/checks.js';
import { CALLBACK_PATH } from '../config/checks.js';
import { isLoopbackHost } from '../config/config.js';
import { safe } from '../cli/sanitize.js';
import { MAX_BODY_BYTES, type Exchange, type HttpAnswer, type NetFailure } from './probe.js';

/** DingTalk's authorize page, where muvee's `/auth/dingtalk/login` sends the browser. */
export const DINGTALK_AUTHORIZE = 'https://login.dingtalk.com/oauth2/auth';

const pass = (id: string, message: string): Check => ({ id, status: 'pass', message });
const warn = (id: string, message: string): Check => ({ id, status: 'warn', message });
const fail = (id: string, message: string): Check => ({ id, status: 'fail', message });

/** Pure: remote text for a message: one line, at most `max` characters, quoted. */
export function quote(text: string, max = 120): string {
  const chars = [...text];
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : text;
  return `'${safe(cut)}'`;
}

// ---------------------------------------------------------------------------------------
// The URL

/**
 * Pure: the muvee URL the user named (`name`: `--muvee` or `MUVEE_URL`). Plain http is
 * accepted only to loopback: anything else is refused before a request is made, so no
 * session (check-config's probe, verify-token's token) crosses a network in clear.
 */
export function judgeMuveeUrl(raw: string, name: string): { check: Check; url?: URL } {
  const id = 'muvee-url';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return {
      check: fail(
        id,
        `${name} ${quote(raw)} is not a URL; give muvee's address, e.g. https://muvee.example.com`,
      ),
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return {
      check: fail(
        id,
        `${name} ${quote(raw)} is not http(s); give muvee's address, e.g. https://muvee.example.com`,
      ),
    };
  }
  if (url.username || url.password) {
    return {
      check: fail(
        id,
        `${name} contains a user name or password, which this tool never sends; remove them`,
      ),
    };
  }
  if (url.search || url.hash) {
    return {
      check: fail(
        id,
        `${name} ${quote(raw)} has a ${url.search ? 'query' : 'fragment'}; give muvee's base address only, e.g. ${url.origin}`,
      ),
    };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return {
      check: fail(
        id,
        `${name} ${quote(raw)} is plain http off this machine, so nothing is sent there (a session would cross the network in clear); use https://${url.host}`,
      ),
    };
  }
  return {
    check: pass(
      id,
      `muvee at ${url.origin}${url.pathname.replace(/\/+$/, '')}${url.protocol === 'http:' ? ' (plain http: loopback only)' : ''}`,
    ),
    url,
  };
}

// ---------------------------------------------------------------------------------------
// Network failures

/** Pure: what a failed request means and what to do, for one line. */
export function describeFailure(failure: NetFailure, url: string, timeoutMs: number): string {
  const { code, name } = failure;
  const at = new URL(url);
  const where = at.origin;
  if (
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    /TIMEOUT/.test(code) ||
    code === 'ETIMEDOUT'
  ) {
    return `no answer from ${where} within ${timeoutMs / 1000} s (--http-timeout); check the URL and any firewall or proxy, or raise --http-timeout`;
  }
  if (code === 'ECONNREFUSED')
    return `${where} refused the connection (nothing listens on ${at.host}); check the URL and that muvee is running`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `host ${quote(at.hostname)} not found (${code}); check the URL`;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return `${where} closed the connection before answering; check the URL's scheme and port (https on an http port?)`;
  if (code === 'UND_ERR_HEADERS_OVERFLOW')
    return `${where} answered with headers larger than 16 KiB; that is not muvee: check the URL and the proxy in front of it`;
  if (name === 'HTTPParserError' || code.startsWith('HPE_'))
    return `${where} answered with something that is not HTTP/1.1 (${quote(failure.message)}): not muvee; check the URL and the proxy in front of it`;
  const tls = describeTls(code, failure.message, at);
  if (tls) return tls;
  return `could not reach ${where} (${code || name || 'error'}: ${quote(failure.message)}); check the URL`;
}

const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

function describeTls(code: string, message: string, at: URL): string | undefined {
  const where = at.origin;
  if (UNTRUSTED_CERT.has(code))
    return `TLS: ${where}'s certificate is not trusted here (${code}: self-signed or from a private CA); install one from a public CA, or give Node your CA with NODE_EXTRA_CA_CERTS=/path/to/ca.pem`;
  if (code === 'CERT_HAS_EXPIRED')
    return `TLS: ${where}'s certificate has expired (${code}); renew it`;
  if (code === 'CERT_NOT_YET_VALID')
    return `TLS: ${where}'s certificate is not valid yet (${code}); check the server's and this machine's clocks`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `TLS: ${where}'s certificate is not for ${quote(at.hostname)} (${quote(message)}); use the host name the certificate names, or fix the certificate`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || /^ERR_SSL_/.test(code))
    return `TLS: ${where} does not speak TLS on port ${at.port || 443} (${code}; plain http there?); use the https port, or http:// for a loopback muvee`;
  if (/CERT|TLS|SSL/.test(code))
    return `TLS: ${where}'s certificate was refused (${code}: ${quote(message)}); fix the certificate`;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Step 1: reachable, and DingTalk enabled

/** One provider of `/api/auth/providers`. */
export interface Provider {
  id: string;
  displayName: string;
}

/** Pure: muvee's `{"providers":[{"id","display_name"}],…}`, or undefined for anything else. */
export function parseProviders(answer: HttpAnswer): Provider[] | undefined {
  if (answer.truncated) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return undefined;
  }
  const list = (body as { providers?: unknown } | null)?.providers;
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((item: unknown) => {
    const p = item as { id?: unknown; display_name?: unknown } | null;
    return typeof p?.id === 'string'
      ? [{ id: p.id, displayName: typeof p.display_name === 'string' ? p.display_name : '' }]
      : [];
  });
}

/**
 * Pure: `GET /api/auth/providers` and the redirects followed from it (probe.ts
 * `fetchProviders`). Reached only when the URL itself answered 200 with muvee's JSON.
 */
export function judgeReachable(
  chain: Exchange[],
  timeoutMs: number,
): { check: Check; providers?: Provider[] } {
  const id = 'muvee-reachable';
  const first = chain[0];
  if (!first) return { check: fail(id, 'muvee was not asked (internal)') };
  const route = 'GET /api/auth/providers';
  if (first.failure)
    return { check: fail(id, describeFailure(first.failure, first.url, timeoutMs)) };
  const answer = first.answer!;
  if (answer.status >= 300 && answer.status <= 399) return { check: fail(id, redirects(chain)) };
  if (answer.status !== 200) {
    const why =
      answer.status === 404
        ? `${route} is not there (404), so this is not muvee, or muvee under another path; check the URL`
        : answer.status === 401 || answer.status === 403
          ? `${route} answered ${answer.status}, but muvee answers it without credentials: a proxy in front of muvee asks for a login; let this route through, or run the check from inside`
          : answer.status >= 500
            ? `${route} answered ${answer.status} ${snippet(answer)}: muvee or the proxy in front of it is failing; check muvee's logs`
            : `${route} answered ${answer.status} ${snippet(answer)}, not muvee's 200; check the URL`;
    return { check: fail(id, `${new URL(first.url).origin}: ${why}`) };
  }
  const providers = parseProviders(answer);
  if (!providers) {
    const why = answer.truncated
      ? `answered ${route} with more than ${MAX_BODY_BYTES / 1024} KiB`
      : `answered ${route} with ${quote(answer.contentType || 'no content type', 60)} ${snippet(answer)}, not muvee's JSON list of providers`;
    return {
      check: fail(
        id,
        `${new URL(first.url).origin} ${why}: is this muvee? check the URL (a path prefix, a proxy's page?)`,
      ),
    };
  }
  return {
    check: pass(id, `muvee answers at ${new URL(first.url).origin} (${route}: 200)`),
    providers,
  };
}

/** Pure: the first characters of a body, for a message. */
function snippet(answer: HttpAnswer): string {
  const text = answer.body.trim();
  return text === '' ? '(empty)' : quote(text, 60);
}

function redirects(chain: Exchange[]): string {
  const first = chain[0]!;
  const hops = chain.map((exchange) => exchange.url);
  const last = chain.at(-1)!;
  const origin = new URL(first.url).origin;
  if (!last.answer && !last.failure) {
    return `${origin} redirects in a loop (${hops.map((h) => quote(h, 80)).join(' → ')}); fix the redirect rules of the proxy in front of muvee (often an http→https redirect that the proxy undoes)`;
  }
  const target = first.answer?.location ?? '';
  let resolved = target;
  try {
    resolved = new URL(target, first.url).toString();
  } catch {
    return `${origin} answered GET /api/auth/providers with a redirect to ${quote(target)}, which is not a URL; check the URL and the proxy in front of muvee`;
  }
  const base = resolved.replace(/\/api\/auth\/providers(\?.*)?$/, '');
  const suggestion =
    base !== resolved ? `; if muvee lives there, use --muvee ${quote(base, 200)}` : '';
  const more = chain.length > 2 ? ` (${chain.length - 1} redirects)` : '';
  return `${origin} answered GET /api/auth/providers with a ${first.answer!.status} redirect to ${quote(resolved)}${more}; this tool follows no redirect with a session${suggestion}, else check the URL`;
}

/** Pure: does muvee offer DingTalk? (listed only when muvee has `DINGTALK_CLIENT_ID`.) */
export function judgeProviders(providers: Provider[]): Check {
  const id = 'muvee-dingtalk-enabled';
  const dingtalk = providers.find((p) => p.id === 'dingtalk');
  if (dingtalk) {
    return pass(
      id,
      `muvee offers DingTalk sign-in (/api/auth/providers lists 'dingtalk'${dingtalk.displayName ? ` as ${quote(dingtalk.displayName, 40)}` : ''})`,
    );
  }
  const others = providers.map((p) => quote(p.id, 40)).join(', ');
  return fail(
    id,
    `muvee does not offer DingTalk sign-in (its providers: ${others || 'none'}); set DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET in muvee's environment and restart it`,
  );
}

// ---------------------------------------------------------------------------------------
// Steps 2 and 3: the authorize redirect, the state cookie, the callback

/** What the local configuration says, to compare muvee's redirect with. */
export interface Expectations {
  clientId: string | undefined;
  /** DINGTALK_REDIRECT_URL when it is set (not the built-in default). */
  redirectUrl: string | undefined;
  baseDomain: string | undefined;
}

/**
 * Pure: muvee's `GET /auth/dingtalk/login` answer: a 302 to DingTalk's authorize page (the
 * `muvee-login` check), its parameters against the local configuration, and the
 * `oauth_state` cookie. The muvee URL's host is where the callback should come back to.
 */
export function judgeLogin(
  exchange: Exchange,
  muvee: URL,
  expect: Expectations,
  timeoutMs: number,
): Check[] {
  const id = 'muvee-login';
  const route = 'GET /auth/dingtalk/login';
  if (exchange.failure)
    return [fail(id, `${route}: ${describeFailure(exchange.failure, exchange.url, timeoutMs)}`)];
  const answer = exchange.answer!;
  if (answer.status === 404) {
    return [
      fail(
        id,
        `${route} answered 404 ${snippet(answer)}: DingTalk is not configured on muvee; set DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET in muvee's environment and restart it`,
      ),
    ];
  }
  if (answer.status < 300 || answer.status > 399 || !answer.location) {
    return [
      fail(
        id,
        `${route} answered ${answer.status} ${snippet(answer)}, not muvee's 302 to DingTalk; check muvee's logs and the proxy in front of it`,
      ),
    ];
  }
  let authorize: URL;
  try {
    authorize = new URL(answer.location);
  } catch {
    return [
      fail(
        id,
        `${route} redirects to ${quote(answer.location)}, not a URL; check the proxy in front of muvee`,
      ),
    ];
  }
  const checks: Check[] = [];
  const page = `${authorize.origin}${authorize.pathname}`;
  checks.push(
    page === DINGTALK_AUTHORIZE
      ? pass(
          id,
          `${route} sends the browser to DingTalk (${answer.status} to ${DINGTALK_AUTHORIZE})`,
        )
      : fail(
          id,
          `${route} sends the browser to ${quote(page)}, not DingTalk's ${DINGTALK_AUTHORIZE}; check the proxy in front of muvee`,
        ),
  );
  const params = authorize.searchParams;
  checks.push(judgeClientId(params.get('client_id'), expect.clientId));
  checks.push(...judgeRedirectUri(params.get('redirect_uri'), muvee, expect));
  checks.push(judgeAuthorizeParams(params));
  checks.push(judgeStateCookie(answer.setCookie, params.get('state')));
  return checks;
}

function judgeClientId(sent: string | null, local: string | undefined): Check {
  const id = 'muvee-client-id';
  if (!sent)
    return fail(
      id,
      "muvee's authorize redirect has no client_id; set DINGTALK_CLIENT_ID in muvee's environment",
    );
  if (local === undefined) {
    return warn(
      id,
      `muvee signs in with client_id ${quote(sent, 64)}; DINGTALK_CLIENT_ID is not set here, so it was not compared: set it`,
    );
  }
  if (sent === local)
    return pass(id, `muvee's client_id is DINGTALK_CLIENT_ID (${quote(sent, 64)})`);
  return fail(
    id,
    `muvee signs in with client_id ${quote(sent, 64)}, but DINGTALK_CLIENT_ID here is ${quote(local, 64)}: one side has another (or an old) AppKey; set the AppKey the DingTalk console shows on both`,
  );
}

function judgeRedirectUri(sent: string | null, muvee: URL, expect: Expectations): Check[] {
  if (!sent) {
    return [
      fail(
        'muvee-redirect-url',
        "muvee's authorize redirect has no redirect_uri; set DINGTALK_REDIRECT_URL in muvee's environment",
      ),
    ];
  }
  let uri: URL;
  try {
    uri = new URL(sent);
  } catch {
    return [
      fail(
        'muvee-redirect-url',
        `muvee's redirect_uri ${quote(sent)} is not a URL; set DINGTALK_REDIRECT_URL in muvee's environment to https://${muvee.host}${CALLBACK_PATH}`,
      ),
    ];
  }
  const shown = quote(sent);
  const fixTo = `https://${muvee.host}${CALLBACK_PATH}`;
  const checks: Check[] = [];
  if (uri.protocol === 'https:') {
    checks.push(pass('muvee-redirect-https', `muvee's redirect_uri ${shown} is https`));
  } else if (isLoopbackHost(uri.hostname)) {
    checks.push(
      warn(
        'muvee-redirect-https',
        `muvee's redirect_uri ${shown} is plain http on loopback: fine for a local muvee, not in production (use https)`,
      ),
    );
  } else {
    checks.push(
      fail(
        'muvee-redirect-https',
        `muvee's redirect_uri ${shown} is not https, so DingTalk sends the code in clear; set DINGTALK_REDIRECT_URL in muvee's environment to ${fixTo}`,
      ),
    );
  }
  checks.push(
    uri.pathname === CALLBACK_PATH
      ? pass('muvee-redirect-path', `muvee's redirect_uri ends in ${CALLBACK_PATH}`)
      : fail(
          'muvee-redirect-path',
          `muvee's redirect_uri ${shown} does not end in ${CALLBACK_PATH}, where muvee receives the callback; set DINGTALK_REDIRECT_URL in muvee's environment to ${fixTo}`,
        ),
  );
  const host = uri.hostname.toLowerCase();
  const base = expect.baseDomain;
  const onBase = base !== undefined && (host === base || host.endsWith(`.${base}`));
  checks.push(
    uri.host === muvee.host
      ? pass(
          'muvee-redirect-host',
          `muvee's redirect_uri is on the muvee URL's host (${muvee.host})`,
        )
      : onBase
        ? pass(
            'muvee-redirect-host',
            `muvee's redirect_uri host ${quote(uri.host, 80)} is under BASE_DOMAIN '${base}'`,
          )
        : fail(
            'muvee-redirect-host',
            `muvee's redirect_uri host ${quote(uri.host, 80)} is not the muvee URL's host (${muvee.host})${base ? ` nor under BASE_DOMAIN '${base}'` : ''}: after approving, DingTalk sends people there; set DINGTALK_REDIRECT_URL in muvee's environment to ${fixTo}${base ? '' : ' (or set BASE_DOMAIN here if that host is muvee too)'}`,
          ),
  );
  if (expect.redirectUrl !== undefined)
    checks.push(judgeRedirectMatch(uri, expect.redirectUrl, muvee));
  return checks;
}

function judgeRedirectMatch(uri: URL, local: string, muvee: URL): Check {
  const id = 'muvee-redirect-url';
  let mine: URL | undefined;
  try {
    mine = new URL(local);
  } catch {
    mine = undefined;
  }
  if (mine && mine.toString() === uri.toString())
    return pass(id, `muvee's redirect_uri is DINGTALK_REDIRECT_URL (${quote(local)})`);
  // muvee rebases its DINGTALK_REDIRECT_URL onto the host it was asked on when it serves
  // several base domains: same scheme and path, the request's host.
  const rebased =
    mine !== undefined &&
    uri.host === muvee.host &&
    mine.host !== muvee.host &&
    uri.pathname === mine.pathname &&
    uri.protocol === mine.protocol;
  if (rebased) {
    return warn(
      id,
      `muvee answered on ${muvee.host} with redirect_uri ${quote(uri.toString())}, DINGTALK_REDIRECT_URL rebased onto the host it was asked on (muvee serves several base domains); register that URL in the DingTalk console too, or check with --muvee https://${mine!.host}`,
    );
  }
  return fail(
    id,
    `muvee sends redirect_uri ${quote(uri.toString())}, but DINGTALK_REDIRECT_URL here is ${quote(local)}; set the same on both sides, and register it in the DingTalk console`,
  );
}

function judgeAuthorizeParams(params: URLSearchParams): Check {
  const id = 'muvee-authorize-params';
  const wanted: [string, string][] = [
    ['response_type', 'code'],
    ['scope', 'openid'],
    ['prompt', 'consent'],
  ];
  const wrong = wanted
    .filter(([key, value]) => params.get(key) !== value)
    .map(
      ([key, value]) =>
        `${key}=${params.get(key) === null ? '(none)' : quote(params.get(key)!, 40)} (expected ${value})`,
    );
  if (!params.get('state')) wrong.push('no state');
  return wrong.length === 0
    ? pass(
        id,
        "muvee's authorize redirect asks response_type=code, scope=openid, prompt=consent, with a state",
      )
    : fail(
        id,
        `muvee's authorize redirect has ${wrong.join(', ')}: that is not muvee's own login handler; check the muvee version and the proxy in front of it`,
      );
}

/** Pure: one `Set-Cookie` value → its name, value and attributes (names lower-cased). */
export function parseSetCookie(header: string): {
  name: string;
  value: string;
  attributes: Map<string, string>;
} {
  const [pair = '', ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const i = part.indexOf('=');
    const key = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase();
    if (key) attributes.set(key, i < 0 ? '' : part.slice(i + 1).trim());
  }
  return {
    name: (eq < 0 ? pair : pair.slice(0, eq)).trim(),
    value: eq < 0 ? '' : pair.slice(eq + 1).trim(),
    attributes,
  };
}

function judgeStateCookie(setCookie: string[], state: string | null): Check {
  const id = 'muvee-state-cookie';
  const cookie = setCookie.map(parseSetCookie).find((c) => c.name === 'oauth_state');
  if (!cookie) {
    return fail(
      id,
      "muvee's login set no oauth_state cookie, so the callback falls back to muvee's in-memory state (lost on a restart, not shared between replicas); check that the proxy in front of muvee passes Set-Cookie",
    );
  }
  const missing: string[] = [];
  if (!cookie.attributes.has('secure')) missing.push('Secure');
  if (!cookie.attributes.has('httponly')) missing.push('HttpOnly');
  if ((cookie.attributes.get('samesite') ?? '').toLowerCase() !== 'lax')
    missing.push('SameSite=Lax');
  if (state !== null && cookie.value !== `dingtalk:${state}`)
    missing.push(`the value dingtalk:<state>`);
  return missing.length === 0
    ? pass(id, 'the oauth_state cookie is Secure, HttpOnly, SameSite=Lax and holds the state')
    : fail(
        id,
        `the oauth_state cookie lacks ${missing.join(', ')} (muvee sets all of them); check the proxy in front of muvee, which rewrites it`,
      );
}

/** Pure: the callback with a state muvee never issued must be refused with 400. */
export function judgeCallback(exchange: Exchange, timeoutMs: number): Check {
  const id = 'muvee-callback-state';
  const route = 'GET /auth/dingtalk/callback';
  if (exchange.failure)
    return fail(id, `${route}: ${describeFailure(exchange.failure, exchange.url, timeoutMs)}`);
  const answer = exchange.answer!;
  if (answer.status === 400)
    return pass(id, `the callback refuses a forged state (400 ${snippet(answer)})`);
  if (answer.status === 404)
    return fail(
      id,
      `${route} is not there (404), so DingTalk's redirect would never sign anyone in; check the proxy routes ${CALLBACK_PATH} to muvee`,
    );
  if (answer.status >= 500)
    return fail(
      id,
      `${route} answered ${answer.status} ${snippet(answer)} to a forged state; muvee's own code answers 400: check muvee's logs`,
    );
  return fail(
    id,
    `${route} answered ${answer.status} ${snippet(answer)} to a state muvee never issued; muvee's own code refuses it with 400 (the state guards against forged logins): check the muvee version and the proxy in front of it`,
  );
}

// ---------------------------------------------------------------------------------------
// Step 4: does the deployed muvee accept sessions signed with this JWT_SECRET?

/** The user a probe session is minted for, and what the connected database says of them. */
export interface SessionSubject {
  uid: string;
  email: string;
  /** Where the id came from: `--muvee-user` (a uuid), or the database. */
  from: 'flag' | 'database';
  /** The database the user was found in, with its role and authorization. */
  db?: {
    kind: 'postgres' | 'sqlite';
    location: string;
    role: string;
    authorized: boolean;
  };
  /** The connected database that was asked and does not have the user (a uuid given). */
  missingFrom?: string;
}

/** muvee's `/api/me` user, the fields compared. */
interface MeUser {
  id: string;
  email: string;
  role: string;
  authorized: boolean | undefined;
}

function parseMe(answer: HttpAnswer): MeUser | undefined {
  if (answer.truncated) return undefined;
  try {
    const body = JSON.parse(answer.body) as Record<string, unknown> | null;
    if (!body || typeof body.id !== 'string') return undefined;
    return {
      id: body.id,
      email: typeof body.email === 'string' ? body.email : '',
      role: typeof body.role === 'string' ? body.role : '',
      authorized: typeof body.authorized === 'boolean' ? body.authorized : undefined,
    };
  } catch {
    return undefined;
  }
}

const describeAccess = (role: string, authorized: boolean | undefined) =>
  `${quote(role || '?', 20)}, ${authorized === undefined ? 'authorization unknown' : authorized ? 'authorized' : 'not authorized (pending)'}`;

/**
 * Pure: muvee's answer to `GET /api/me` with a probe session signed with this JWT_SECRET for
 * `subject`: `muvee-session`, and `muvee-session-user` when a database said who that is.
 * 401 is muvee's one answer for a bad signature, an expired token and an unknown user.
 */
export function judgeSession(
  exchange: Exchange,
  subject: SessionSubject,
  timeoutMs: number,
): Check[] {
  const id = 'muvee-session';
  const who = subject.email
    ? `${quote(subject.email, 80)} (${subject.uid})`
    : `user ${subject.uid}`;
  if (exchange.failure)
    return [fail(id, `GET /api/me: ${describeFailure(exchange.failure, exchange.url, timeoutMs)}`)];
  const answer = exchange.answer!;
  if (answer.status === 401) {
    if (subject.db?.kind === 'postgres') {
      return [
        fail(
          id,
          `the deployed muvee refused a session signed with this JWT_SECRET for ${who}, who is in the connected database ${subject.db.location}: muvee runs with another JWT_SECRET; set the same JWT_SECRET on both sides (unless that database is not this muvee's)`,
        ),
      ];
    }
    if (subject.missingFrom !== undefined) {
      return [
        fail(
          id,
          `the deployed muvee refused a session signed with this JWT_SECRET for ${who} (401), a user the connected database ${subject.missingFrom} does not have either: most likely muvee has no such user; pass --muvee-user of a user it has`,
        ),
      ];
    }
    return [
      fail(
        id,
        `the deployed muvee refused a session signed with this JWT_SECRET for ${who} (401): either muvee runs with another JWT_SECRET, or that user is not in its database; connect muvee's database (--db postgres://… or DATABASE_URL) to tell which`,
      ),
    ];
  }
  if (answer.status >= 300 && answer.status <= 399) {
    return [
      fail(
        id,
        `GET /api/me answered ${answer.status} (to ${quote(answer.location ?? '')}); the session is sent to no other URL: check the URL and the proxy in front of muvee`,
      ),
    ];
  }
  if (answer.status !== 200) {
    return [
      fail(
        id,
        `GET /api/me answered ${answer.status} ${snippet(answer)}, not muvee's 200 or 401; check muvee's logs and the proxy in front of it`,
      ),
    ];
  }
  const me = parseMe(answer);
  if (!me)
    return [
      fail(id, `GET /api/me answered 200 ${snippet(answer)}, not muvee's user JSON; check the URL`),
    ];
  if (me.id.toLowerCase() !== subject.uid.toLowerCase()) {
    return [
      fail(
        id,
        `GET /api/me answered with user ${quote(me.id, 40)}, not ${subject.uid} whose session was sent; check the proxy in front of muvee (a cache?)`,
      ),
    ];
  }
  const checks: Check[] = [
    pass(
      id,
      `the deployed muvee accepts sessions signed with this JWT_SECRET (GET /api/me as ${quote(me.email || subject.email, 80)}: 200, ${describeAccess(me.role, me.authorized)})`,
    ),
  ];
  const db = subject.db;
  if (subject.missingFrom !== undefined) {
    checks.push(
      warn(
        'muvee-session-user',
        `muvee has this user, but ${subject.missingFrom} does not: the connected database is not this muvee's; connect the database muvee uses`,
      ),
    );
  }
  if (db) {
    const same =
      me.role === db.role && (me.authorized === undefined || me.authorized === db.authorized);
    checks.push(
      same
        ? pass(
            'muvee-session-user',
            `muvee and ${db.location} agree on this user: ${describeAccess(db.role, db.authorized)}`,
          )
        : warn(
            'muvee-session-user',
            `muvee says ${describeAccess(me.role, me.authorized)}, but ${db.location} says ${describeAccess(db.role, db.authorized)}: the connected database is not this muvee's, or it changed since; connect the database muvee uses`,
          ),
    );
  }
  return checks;
}

// ---------------------------------------------------------------------------------------
// verify-token --muvee

/** What the deployed muvee said of one token (`/api/me`). */
export interface MuveeTokenAnswer {
  /** true: 200 with a user; false: 401; undefined: no verdict (unreachable, another status). */
  accepts: boolean | undefined;
  status: number | undefined;
  /** One line for a person, the fix included where there is one. */
  message: string;
  user?: { id: string; email: string; role: string; authorized: boolean | undefined };
}

/** Pure: muvee's `/api/me` answer to a token sent as `Authorization: Bearer`. */
export function judgeTokenAtMuvee(exchange: Exchange, timeoutMs: number): MuveeTokenAnswer {
  const origin = new URL(exchange.url).origin;
  if (exchange.failure)
    return {
      accepts: undefined,
      status: undefined,
      message: describeFailure(exchange.failure, exchange.url, timeoutMs),
    };
  const answer = exchange.answer!;
  if (answer.status === 401) {
    return {
      accepts: false,
      status: 401,
      message: `${origin} refuses this token (GET /api/me: 401 unauthorized: a bad signature, expired, or a user it does not have: muvee gives one answer for all three)`,
    };
  }
  if (answer.status === 200) {
    const me = parseMe(answer);
    if (me) {
      return {
        accepts: true,
        status: 200,
        message: `${origin} accepts this token (GET /api/me: 200, user ${quote(me.id, 40)} ${quote(me.email, 80)}, ${describeAccess(me.role, me.authorized)})`,
        user: me,
      };
    }
  }
  return {
    accepts: undefined,
    status: answer.status,
    message: `${origin} answered GET /api/me with ${answer.status} ${snippet(answer)}, not muvee's 200 or 401; check the URL${answer.status >= 300 && answer.status <= 399 ? ' (the token is sent to no other URL)' : ''}`,
  };
}

/** The local verdict, as far as the comparison needs it. */
export interface LocalVerdict {
  valid: boolean;
  reason?: string | undefined;
  /** session.ts's "muvee itself would accept this token because …", when it says so. */
  muveeNote?: string | undefined;
}

/**
 * Pure: whether this tool and the deployed muvee agree on a token, and when not, the plain
 * sentence saying so (undefined when muvee gave no verdict).
 */
export function compareVerdicts(
  local: LocalVerdict,
  muvee: MuveeTokenAnswer,
): { agrees: boolean | undefined; disagreement?: string } {
  if (muvee.accepts === undefined) return { agrees: undefined };
  if (local.valid === muvee.accepts) return { agrees: true };
  if (local.valid) {
    return {
      agrees: false,
      disagreement:
        "this tool finds the token valid, but the deployed muvee refuses it: muvee runs with another JWT_SECRET, or it has no user with this uid (muvee's 401 does not say which); compare JWT_SECRET on both sides, and look the uid up in muvee's database",
    };
  }
  const because =
    local.reason === 'bad-signature'
      ? 'it was signed with the JWT_SECRET the deployed muvee runs with, which is not the one configured here; set the same JWT_SECRET on both sides'
      : local.muveeNote
        ? `this tool is stricter than muvee here (${local.muveeNote})`
        : 'this tool is stricter than muvee here';
  return {
    agrees: false,
    disagreement: `this tool rejects the token (${local.reason ?? 'rejected'}), but the deployed muvee accepts it: ${because}`,
  };
}
