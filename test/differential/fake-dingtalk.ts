/**
 * A scripted DingTalk on 127.0.0.1 for the login scenarios: per scenario it answers exactly
 * the authorize redirect (the callback's query, byte for byte), the user-token answer (status
 * and raw body) and the profile answer (status and raw body), and records what it was asked.
 * muvee-oracle reaches it through HARNESS_FAKE (Host header api.dingtalk.com /
 * login.dingtalk.com), this tool through DINGTALK_API_BASE/DINGTALK_LOGIN_BASE: it routes on
 * the path alone, so both see the same answers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAnswer {
  status: number;
  /** The raw body, sent as is. */
  body: string;
  /** Default `application/json;charset=utf-8`. */
  contentType?: string;
}

export interface FakeScript {
  /** The callback's query without `state` (appended last, as the fake received it). */
  callback: string;
  exchange: FakeAnswer;
  profile: FakeAnswer;
}

/** What the fake was asked during one login. */
export interface FakeCalls {
  authorize: number;
  /** The `code` of each user-token request, as sent. */
  exchangedCodes: string[];
  /** The `x-acs-dingtalk-access-token` of each profile request. */
  profileTokens: string[];
}

export interface FakeDingTalk {
  /** `http://127.0.0.1:N` */
  url: string;
  /** `127.0.0.1:N` (HARNESS_FAKE) */
  host: string;
  /** The script for the next login; clears the recorded calls. */
  set(script: FakeScript): void;
  calls(): FakeCalls;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, a: FakeAnswer): void {
  res.writeHead(a.status, {
    'content-type': a.contentType ?? 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(a.body),
    connection: 'close',
  });
  res.end(a.body);
}

export async function startFakeDingTalk(): Promise<FakeDingTalk> {
  let script: FakeScript | undefined;
  let calls: FakeCalls = { authorize: 0, exchangedCodes: [], profileTokens: [] };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake.invalid');
      const body = await readBody(req);
      if (!script) return answer(res, { status: 503, body: '{"code":"NoScript"}' });
      if (req.method === 'GET' && url.pathname === '/oauth2/auth') {
        calls.authorize++;
        const redirect = url.searchParams.get('redirect_uri') ?? '';
        const state = url.searchParams.get('state') ?? '';
        const query = [script.callback, `state=${encodeURIComponent(state)}`]
          .filter(Boolean)
          .join('&');
        res.writeHead(302, { location: `${redirect}?${query}`, connection: 'close' });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/v1.0/oauth2/userAccessToken') {
        let code = '(unreadable request)';
        try {
          code = String((JSON.parse(body) as { code?: unknown }).code);
        } catch {
          // recorded as unreadable
        }
        calls.exchangedCodes.push(code);
        return answer(res, script.exchange);
      }
      if (req.method === 'GET' && url.pathname === '/v1.0/contact/users/me') {
        calls.profileTokens.push(String(req.headers['x-acs-dingtalk-access-token'] ?? ''));
        return answer(res, script.profile);
      }
      answer(res, { status: 404, body: '{"code":"NotFound"}' });
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    set(next) {
      script = next;
      calls = { authorize: 0, exchangedCodes: [], profileTokens: [] };
    },
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
