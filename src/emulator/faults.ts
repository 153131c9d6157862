/**
 * What a fault is (the endpoints it can hit, what it does instead of the endpoint's job) and
 * fault specs for `emulator --fault endpoint=spec`, pure. A spec is comma-separated parts:
 * a status (`503`), `html`, `text`, `truncated`, `empty`, `no-token`, `no-unionid`,
 * `email-only`, `with-token`, `split-code`, `latency:<ms>`, `reset`, `times:<n>`. Examples:
 * `userAccessToken=503`, `usersMe=200,html`, `accessToken=latency:15000`,
 * `userAccessToken=reset,times:1`. The ones muvee's server is lenient about
 * (shared/muvee-server.md §1): `userAccessToken=500,with-token` (an error status whose body has
 * an accessToken), `usersMe=no-unionid` (neither unionId nor email), `usersMe=email-only`
 * (an email without unionId), `authorize=split-code` (code and authCode differ).
 */
import { CliError } from '../cli/errors.js';

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

/** DingTalk-shaped error bodies for a bare status. */
const STATUS_CODES: Record<number, string> = {
  400: 'InvalidParameter',
  401: 'InvalidAuthentication',
  403: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi',
  404: 'InvalidAction.NotFound',
  429: 'Throttling.User',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
};

/** `withToken`: the body also carries an accessToken (muvee accepts such an answer). */
export function errorBody(status: number, withToken = false): string {
  return JSON.stringify({
    requestid: 'EMULATED-FAULT',
    code: STATUS_CODES[status] ?? `Emulated${status}`,
    message: `emulated fault (HTTP ${status})`,
    ...(withToken ? { accessToken: 'emulated-token-in-an-error', expireIn: 7200 } : {}),
  });
}

export function parseFaultSpec(text: string): [Endpoint, Fault] {
  const eq = text.indexOf('=');
  const endpoint = text.slice(0, eq) as Endpoint;
  if (eq < 0 || !ENDPOINTS.includes(endpoint)) {
    throw new CliError(
      'usage',
      `--fault '${text}' must be <endpoint>=<spec> with endpoint one of ${ENDPOINTS.join(', ')}`,
    );
  }
  const fault: Fault = {};
  let body: string | undefined;
  let contentType: string | undefined;
  let withToken = false;
  for (const part of text
    .slice(eq + 1)
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, value] = part.split(':') as [string, string | undefined];
    if (/^\d{3}$/.test(part)) fault.status = Number(part);
    else if (name === 'latency' && value && /^\d+$/.test(value)) fault.latencyMs = Number(value);
    else if (name === 'times' && value && /^\d+$/.test(value)) fault.times = Number(value);
    else if (part === 'reset') fault.reset = true;
    else if (part === 'html') {
      body =
        '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>';
      contentType = 'text/html';
    } else if (part === 'text') {
      body = 'upstream connect error or disconnect/reset before headers';
      contentType = 'text/plain';
    } else if (part === 'truncated') body = '{"accessToken": "3f2a9c", "expireIn": 72';
    else if (part === 'empty') body = '';
    else if (part === 'no-token') body = '{"refreshToken":"emulated","expireIn":7200}';
    else if (part === 'no-unionid') body = '{"nick":"nobody","openId":"emulated"}';
    else if (part === 'email-only')
      body = '{"nick":"邮件","openId":"emulated","email":"emailonly@corp.example"}';
    else if (part === 'with-token') withToken = true;
    else if (part === 'split-code') fault.splitCode = true;
    else
      throw new CliError(
        'usage',
        `--fault '${text}': unknown part '${part}'; use a status, html, text, truncated, empty, no-token, no-unionid, email-only, with-token, split-code, latency:<ms>, reset or times:<n>`,
      );
  }
  if (body !== undefined) {
    fault.status ??= 200;
    fault.body = body;
    if (contentType) fault.contentType = contentType;
  } else if (fault.status !== undefined) {
    fault.body = errorBody(fault.status, withToken);
  }
  return [endpoint, fault];
}
