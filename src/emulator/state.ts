/**
 * What the emulator holds: its users and apps (with their registered redirect URIs), the
 * codes handed out and not yet used, the spent refresh tokens, the faults in force, the
 * per-endpoint hit counts, the tokens handed out (only when recorded) and the timers of
 * delayed answers. The sweeping of expired codes and spent refresh tokens lives here too.
 * No HTTP: routes.ts and pages.ts answer requests from it.
 */
import { CliError } from '../cli/errors.js';
import type { Endpoint, Fault } from './faults.js';
import {
  createTokenSealer,
  MAX_SEALED_CLIENTS,
  MAX_SEALED_USERS,
  type TokenSealer,
} from './tokens.js';
import {
  BUILTIN_USERS,
  EMULATOR_CLIENT_ID,
  EMULATOR_CLIENT_SECRET,
  type EmulatorUser,
} from './users.js';

export interface EmulatorClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface EmulatorOptions {
  port?: number;
  users?: readonly EmulatorUser[];
  clients?: EmulatorClient[];
  /** Approve as this user at once instead of showing the page. */
  autoApprove?: string | undefined;
  codeTtlMs?: number;
  accessTokenTtlMs?: number;
  /** The clock, in milliseconds since the epoch (default `Date.now`; tests pass a fake). */
  now?: () => number;
  /**
   * Keep every token handed out in `issuedTokens` (tests). Off by default: the list would grow
   * with every login of a long-running emulator.
   */
  recordTokens?: boolean;
  faults?: Partial<Record<Endpoint, Fault>>;
}

export interface Grant {
  clientId: string;
  userIndex: number;
  scope: string;
  expiresAt: number;
  used: boolean;
}

export interface EmulatorState {
  readonly users: EmulatorUser[];
  readonly clients: Map<string, EmulatorClient>;
  /** The apps in order: tokens name an app by its index here (tokens.ts). */
  readonly clientList: EmulatorClient[];
  readonly now: () => number;
  readonly sealer: TokenSealer;
  readonly codeTtl: number;
  readonly tokenTtl: number;
  readonly faults: Map<Endpoint, Fault>;
  /** Approve as this user at once instead of showing the page. */
  autoApprove: string | undefined;
  /** Codes handed out and not yet used (expired ones are swept). */
  readonly grants: Map<string, Grant>;
  /** Refresh tokens already used (single use), each with the instant it expires anyway. */
  readonly spentRefreshTokens: Map<string, number>;
  readonly hits: Record<Endpoint, number>;
  readonly timers: Set<NodeJS.Timeout>;
  /** Every token handed out, only with `recordTokens`. */
  readonly issuedTokens: string[] | undefined;
  sweep(at?: number): void;
  findUser(id: string): EmulatorUser | undefined;
  sleep(ms: number): Promise<void>;
  consumeFault(endpoint: Endpoint, fault: Fault): void;
  setFault(endpoint: Endpoint, fault: Fault | undefined): void;
  registerRedirectUri(uri: string, clientId?: string): void;
}

export function createEmulatorState(options: EmulatorOptions): EmulatorState {
  const users = [...(options.users ?? BUILTIN_USERS)];
  const clients = new Map<string, EmulatorClient>();
  for (const client of options.clients ?? [
    { clientId: EMULATOR_CLIENT_ID, clientSecret: EMULATOR_CLIENT_SECRET, redirectUris: [] },
  ]) {
    clients.set(client.clientId, { ...client, redirectUris: [...client.redirectUris] });
  }
  // Tokens name a user and an app by their index (tokens.ts).
  const clientList = [...clients.values()];
  if (users.length > MAX_SEALED_USERS || clientList.length > MAX_SEALED_CLIENTS) {
    throw new CliError(
      'usage',
      `the emulator takes at most ${MAX_SEALED_USERS} users and ${MAX_SEALED_CLIENTS} apps (got ${users.length} and ${clientList.length})`,
    );
  }
  const now = options.now ?? Date.now;
  const faults = new Map<Endpoint, Fault>(
    Object.entries(options.faults ?? {}) as [Endpoint, Fault][],
  );
  const grants = new Map<string, Grant>();
  const spentRefreshTokens = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();

  /**
   * Drops expired codes and spent refresh tokens past their expiry, at most once a second (a
   * long-running emulator holds only live ones). An expired code is refused exactly as an
   * unknown one, and an expired refresh token is refused whether spent or not, so this changes
   * no answer; a spent code is dropped when it is used.
   */
  let nextSweep = 0;
  function sweep(at = now()): void {
    if (at < nextSweep) return;
    nextSweep = at + 1000;
    for (const [code, grant] of grants) if (grant.expiresAt < at) grants.delete(code);
    for (const [token, expiresAt] of spentRefreshTokens)
      if (expiresAt < at) spentRefreshTokens.delete(token);
  }

  const findUser = (id: string) => users.find((u) => u.id === id || u.unionId === id);
  if (options.autoApprove !== undefined && !findUser(options.autoApprove)) {
    throw new CliError(
      'usage',
      `--auto-approve '${options.autoApprove}' is not an emulated user; choose one of ${users.map((u) => u.id).join(', ')}`,
    );
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /** Counts one use of a fault limited by `times`. */
  function consumeFault(endpoint: Endpoint, fault: Fault): void {
    if (fault.times === undefined) return;
    if (fault.times <= 1) faults.delete(endpoint);
    else faults.set(endpoint, { ...fault, times: fault.times - 1 });
  }

  function setFault(endpoint: Endpoint, fault: Fault | undefined): void {
    if (fault === undefined) faults.delete(endpoint);
    else faults.set(endpoint, fault);
  }

  function registerRedirectUri(uri: string, clientId?: string): void {
    const targets = clientId ? [clients.get(clientId)] : [...clients.values()];
    for (const client of targets) {
      if (client && !client.redirectUris.includes(uri)) client.redirectUris.push(uri);
    }
  }

  return {
    users,
    clients,
    clientList,
    now,
    sealer: createTokenSealer(),
    codeTtl: options.codeTtlMs ?? 5 * 60_000,
    tokenTtl: options.accessTokenTtlMs ?? 7200_000,
    faults,
    autoApprove: options.autoApprove,
    grants,
    spentRefreshTokens,
    hits: { authorize: 0, userAccessToken: 0, usersMe: 0, accessToken: 0 },
    timers,
    issuedTokens: options.recordTokens ? [] : undefined,
    sweep,
    findUser,
    sleep,
    consumeFault,
    setFault,
    registerRedirectUri,
  };
}
