/**
 * Pure judges of a deployed muvee's answers (`check-config --muvee`, `verify-token --muvee`):
 * what `probe.ts` recorded in, one {@link Check} per question out, each message ending with
 * the fix. Every piece of the remote's text that a message quotes is cut short and made safe
 * for a terminal (target.ts `quote`), so no format (text, JSON, JUnit, GitHub) carries a
 * hostile muvee's escape sequences or megabytes. The session step is in session-checks.ts.
 *
 * @see ../../../shared/muvee-server.md §6 (what muvee's own handlers answer)
 */
import type { Check } from '../config/checks.js';
import { CALLBACK_PATH } from '../config/checks.js';
import { isLoopbackHost } from '../config/config.js';
import { describeFailure, quote, snippet } from './target.js';
import { MAX_BODY_BYTES, type Exchange, type HttpAnswer } from './probe.js';

/** DingTalk's authorize page, where muvee's `/auth/dingtalk/login` sends the browser. */
export const DINGTALK_AUTHORIZE = 'https://login.dingtalk.com/oauth2/auth';

const pass = (id: string, message: string): Check => ({ id, status: 'pass', message });
const warn = (id: string, message: string): Check => ({ id, status: 'warn', message });
const fail = (id: string, message: string): Check => ({ id, status: 'fail', message });

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
        `muvee's redirect_uri ${quote(sent)} is not a URL; set DINGTALK_REDIRECT_URL in muvee's environment to ${muvee.protocol}//${muvee.host}${CALLBACK_PATH}`,
      ),
    ];
  }
  const shown = quote(sent);
  // https, or the muvee URL's own plain http on loopback.
  const fixTo = `${muvee.protocol}//${muvee.host}${CALLBACK_PATH}`;
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
