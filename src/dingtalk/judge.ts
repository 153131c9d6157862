/**
 * Pure judges of DingTalk's API answers (dingtalk/client.ts sends, these decide): the status
 * and DingTalk's string error `code` into a `CliError` with a hint for known codes, and where
 * the tool refuses what muvee's server would take, the sentence saying what muvee does.
 *
 * @see ../../../shared/dingtalk-api.md §2–§5
 */
import { CliError } from '../cli/errors.js';
import { hintFor } from './hints.js';
import { redactText } from './redact.js';

export type Step = 'code exchange' | 'profile' | 'app token';

/** An HTTP answer reduced to what the parsers judge. */
export interface ApiResponse {
  status: number;
  contentType: string;
  text: string;
  /** The body's bytes as received (default: `text` as UTF-8), for muvee's Go decoding. */
  bytes?: Uint8Array;
}

/**
 * Pure: DingTalk's text (an error code, message, request id, scope, content type) with every
 * known secret, credential-named value and token-shaped run cut out (redact.ts).
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  return redactText(text, secrets);
}

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
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

export function missingField(step: Step, field: string, response: ApiResponse): CliError {
  return new CliError(
    'dingtalk-bad-response',
    `DingTalk's ${step} answer (HTTP ${response.status}) has no ${field}; check DINGTALK_API_BASE and any proxy`,
    { details: { step, status: response.status, missing: field } },
  );
}

/** The body's bytes as received. */
export const bytesOf = (response: ApiResponse) =>
  response.bytes ?? Buffer.from(response.text, 'utf8');

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

/** The error when muvee's own decoding of the answer fails: muvee fails the login too. */
export function muveeCannotRead(step: Step, response: ApiResponse, goError: string): CliError {
  const what = step === 'profile' ? 'parse user_info' : 'parse token response';
  return new CliError(
    'dingtalk-bad-response',
    `DingTalk's ${step} answer (HTTP ${response.status}) is not what muvee reads: ${goError}; muvee fails this login too ('${what}'): check DINGTALK_API_BASE and any proxy`,
    { details: { step, status: response.status, muveeError: `${what}: ${goError}` } },
  );
}
