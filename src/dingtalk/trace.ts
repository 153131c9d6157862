/**
 * `--verbose`: each DingTalk request and answer as lines for stderr (`> ` out, `< ` in, as
 * `gh --verbose` and `curl -v` show them), safe to paste into a bug report or leave in a CI
 * log: secrets, codes and tokens are replaced by their length, the mobile is masked, any
 * known secret echoed elsewhere (a proxy's error page) is cut out, and every line goes
 * through the sanitiser.
 */
import { maskMobile } from '../dingtalk/profile.js';
import { isCredentialKey, redacted as redactedValue, redactText } from './redact.js';
import type { Output } from '../cli/output.js';
import { safe } from '../cli/sanitize.js';

/** In requests `code` is the authorization code; in answers it is DingTalk's error code. */
const requestCredential = (key: string) => isCredentialKey(key) || /^(code|authcode)$/i.test(key);

/** Longer bodies are cut (an HTML error page says what it is in its first lines). */
const MAX_SHOWN = 2000;

const redacted = (value: unknown) => redactedValue(String(value));

/**
 * Pure: a JSON value with credential fields (any name holding token, secret, password…: see
 * redact.ts) redacted and the mobile masked, at any depth.
 */
export function redactFields(
  value: unknown,
  isCredential: (key: string) => boolean = isCredentialKey,
): unknown {
  if (Array.isArray(value)) return value.map((item) => redactFields(item, isCredential));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      isCredential(key) && (typeof field !== 'object' || field === null)
        ? redacted(field)
        : key === 'mobile' && typeof field === 'string'
          ? maskMobile(field)
          : redactFields(field, isCredential),
    ]),
  );
}

/**
 * Pure: `text` with every known secret, credential-named value and token-shaped run cut out
 * (redact.ts), on one sanitised line.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  return safe(redactText(text, secrets));
}

/**
 * Pure: a body as shown: JSON (a byte-order mark tolerated) redacted field by field, anything
 * else (cut short, trailing bytes, a form, a page) scrubbed and cut. Either way every known
 * secret and anything shaped like a token is cut out too.
 */
export function showBody(text: string, secrets: readonly string[]): string {
  if (text === '') return '(empty body)';
  const bom = text.startsWith('\ufeff') ? '(byte-order mark) ' : '';
  try {
    return bom + scrub(JSON.stringify(redactFields(JSON.parse(text.slice(bom ? 1 : 0)))), secrets);
  } catch {
    const cut =
      text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} chars)` : text;
    return scrub(cut, secrets);
  }
}

/** Pure: the lines of a request. */
export function requestLines(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  secrets: readonly string[],
): string[] {
  return [
    `> ${method} ${scrub(url, secrets)}`,
    ...Object.entries(headers).map(
      ([name, value]) =>
        `> ${name}: ${isCredentialKey(name) ? redacted(value) : scrub(value, secrets)}`,
    ),
    ...(body === undefined
      ? []
      : [`> ${scrub(JSON.stringify(redactFields(body, requestCredential)), secrets)}`]),
  ];
}

/** Pure: the lines of an answer. */
export function responseLines(
  response: { status: number; contentType: string; text: string },
  ms: number,
  secrets: readonly string[],
): string[] {
  return [
    `< ${response.status} (${scrub(response.contentType || 'no content-type', secrets)}), ${Buffer.byteLength(response.text)} bytes, ${Math.round(ms)} ms`,
    `< ${showBody(response.text, secrets)}`,
  ];
}

/** What the client calls around each request (client.ts `DingTalkClientOptions.trace`). */
export interface Tracer {
  request(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: unknown,
    secrets: readonly string[],
  ): void;
  response(
    response: { status: number; contentType: string; text: string },
    ms: number,
    secrets: readonly string[],
  ): void;
  failure(error: unknown, ms: number): void;
}

/** A tracer writing its lines with `write` (one call a line). */
export function tracer(write: (line: string) => void): Tracer {
  return {
    request: (...args) => requestLines(...args).forEach((line) => write(line)),
    response: (...args) => responseLines(...args).forEach((line) => write(line)),
    failure: (error, ms) => {
      const err = error as {
        code?: string;
        name?: string;
        message?: string;
        cause?: { code?: string };
      };
      write(
        `< no answer after ${Math.round(ms)} ms: ${safe(err.code ?? err.cause?.code ?? err.name ?? String(error))}`,
      );
    },
  };
}

/** `--verbose` as the commands print it: dim lines on stderr, under --json too. */
export function verboseTracer(out: Output): Tracer {
  return tracer((line) => out.note(out.c.dim(line)));
}
