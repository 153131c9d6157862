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
 * This file composes the emulator: state.ts holds what it holds (users, apps, codes, spent
 * refresh tokens, faults, hits), routes.ts answers the API and the control API, pages.ts the
 * authorize page and its decision; faults.ts says what a fault is, http.ts the shared replies.
 *
 * @see ../../../shared/dingtalk-api.md
 */
import { CliError } from '../cli/errors.js';
import { startHttpListener, type HttpListener } from '../net/http-listener.js';
import type { Endpoint, Fault } from './faults.js';
import { createHandler } from './routes.js';
import { createEmulatorState, type EmulatorOptions } from './state.js';
import type { EmulatorUser } from './users.js';

export { ENDPOINTS, type Endpoint, type Fault } from './faults.js';
export type { EmulatorClient, EmulatorOptions } from './state.js';

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

/** How long an idle connection stays open: Node's default, long enough for clients to reuse. */
const KEEP_ALIVE_MS = 5000;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const state = createEmulatorState(options);
  let listener: HttpListener;
  try {
    listener = await startHttpListener({
      host: '127.0.0.1',
      port: options.port ?? 0,
      handler: createHandler(state),
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
    users: state.users,
    hits: state.hits,
    get issuedTokens() {
      const { issuedTokens } = state;
      if (!issuedTokens)
        throw new Error('issuedTokens needs startEmulator({ recordTokens: true })');
      return issuedTokens;
    },
    held: () => ({ codes: state.grants.size, spentRefreshTokens: state.spentRefreshTokens.size }),
    registerRedirectUri: state.registerRedirectUri,
    setFault: state.setFault,
    setAutoApprove(userId) {
      state.autoApprove = userId;
    },
    close() {
      for (const timer of state.timers) clearTimeout(timer);
      state.timers.clear();
      return listener.close();
    },
  };
}
