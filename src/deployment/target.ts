/**
 * Pure: where muvee is (the URL the user named: https, or plain http to loopback only), what a
 * failed request to it means and what to do (refused, not found, timeouts, TLS, resets,
 * answers that are not HTTP), and how remote text is quoted in a message: cut short and made
 * safe for a terminal, so no format carries a hostile muvee's escape sequences.
 */
import type { Check } from '../config/checks.js';
import { isLoopbackHost } from '../config/config.js';
import { safe } from '../cli/sanitize.js';
import type { HttpAnswer, NetFailure } from './probe.js';

const pass = (id: string, message: string): Check => ({ id, status: 'pass', message });
const fail = (id: string, message: string): Check => ({ id, status: 'fail', message });

/** Pure: remote text for a message: one line, at most `max` characters, quoted. */
export function quote(text: string, max = 120): string {
  const chars = [...text];
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : text;
  return `'${safe(cut)}'`;
}

/** Pure: the first characters of a body, for a message. */
export function snippet(answer: HttpAnswer): string {
  const text = answer.body.trim();
  return text === '' ? '(empty)' : quote(text, 60);
}

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
