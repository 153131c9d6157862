/**
 * The login flow, as a function of its inputs: what muvee does when someone clicks "Continue
 * with DingTalk". `commands/login.ts` turns flags into {@link LoginFlowInputs} and prints the
 * {@link LoginOutcome}; tests drive it directly with the emulator and a fake clock.
 *
 * Flow: bind the callback listener → print the authorize URL and open the browser (or approve
 * headlessly) → wait for the callback, a pasted URL, the timeout or the abort signal →
 * exchange the code → fetch the profile → resolve the email → admit → role → store → mint the
 * session → answer the browser with the success page (only now; a failure page on any error).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config.js';
import { buildAuthorizeUrl, newState, type CallbackResult } from '../dingtalk/authorize.js';
import { DingTalkClient } from '../dingtalk/client.js';
import type { Tracer } from '../dingtalk/trace.js';
import {
  adminHint,
  admission as bothRules,
  resolveEmail,
  roleFor,
  type Rules,
} from '../muvee/identity.js';
import { CliError, isCliError } from '../cli/errors.js';
import { failurePage, successPage } from '../net/html.js';
import type { Output } from '../cli/output.js';
import { line } from '../cli/output.js';
import { hasControl, invisibleIn, safe } from '../cli/sanitize.js';
import { mintSessionToken, SESSION_TTL_SECONDS } from '../muvee/session.js';
import { NEW_USER_ID } from '../store/record-login.js';
import { approveHeadlessly, BROWSER_FAILED, type BrowserOpener } from './browser.js';
import { bindListener } from './listener.js';
import type { LoginStore } from '../store/contract.js';
import type { Provider } from './provider.js';
import { printProfile, type LoginOutcome } from './report.js';
import {
  realClock,
  rejectionReporter,
  StatusLine,
  waitForCallback,
  type Clock,
  type PasteSource,
} from './wait.js';
import type { LoginResult } from '../muvee/model.js';

export type { Clock, PasteSource } from './wait.js';
export type { LoginStore } from '../store/contract.js';
export type { LoginOutcome } from './report.js';
export type { BrowserOpener } from './browser.js';
export type { Provider } from './provider.js';

/** The few DingTalk calls a login makes (a `DingTalkClient`, or a fake). */
export type DingTalkApi = Pick<DingTalkClient, 'exchangeCode' | 'getProfile' | 'close'>;

export interface LoginFlowInputs {
  /** The redirect URL, ALLOWED_DOMAINS and ADMIN_EMAILS. */
  config: Pick<Config, 'redirectUrl' | 'allowedDomains' | 'adminEmails'>;
  provider: Provider;
  /** Signs the session token. */
  jwtSecret: string;
  options: {
    /** Which ALLOWED_DOMAINS rule the verdict follows (default: muvee's documented one). */
    rules?: Rules | undefined;
    /** How long to wait for the callback. */
    timeoutSeconds: number;
    /** `--listen host:port`: where the callback listener binds instead of the redirect URL. */
    listen?: string | undefined;
    /** How long one DingTalk API call may take (for the default client; its default otherwise). */
    httpTimeoutSeconds?: number;
  };
  /** Progress, hints and warnings (stderr); the profile before a policy refusal. */
  out: Output;
  /** Aborted by Ctrl-C: the login ends with `interrupted` and nothing is stored. */
  signal: AbortSignal;
  /** Default: the real clock. */
  clock?: Clock;
  /** Absent: the URL is only printed (`--no-browser`), someone else opens it. */
  openBrowser?: BrowserOpener | undefined;
  /** Absent: nobody can paste the landed URL. Never read when the emulator approves by itself. */
  paste?: PasteSource | undefined;
  /**
   * Opens the store when the user is to be written; absent: nothing is stored (`--no-store`).
   * Its `warnings` (about the DB file) are printed before the browser opens.
   */
  openStore?: ((() => Promise<LoginStore>) & { warnings?: readonly string[] }) | undefined;
  /** Default: a `DingTalkClient` on the API base, closed when the flow ends. */
  dingtalk?: (apiBase: string) => DingTalkApi;
  /** Given to the default client: awaited before its first request (`Io.beforeFirstRequest`). */
  beforeFirstRequest?: (() => Promise<void>) | undefined;
  /** Given to the default client: `--verbose` (dingtalk/trace.ts). */
  trace?: Tracer | undefined;
}

/** How long an emulator run waits for a browser to load its login page before approving itself. */
export const BROWSER_GRACE_MS = 10_000;

export function interruptedError(): CliError {
  return new CliError('interrupted', 'login cancelled (Ctrl-C); nothing was stored');
}

/** Runs one login; throws a `CliError` on failure, with nothing stored. */
export async function runLoginFlow(inputs: LoginFlowInputs): Promise<LoginOutcome> {
  const { out, provider, signal } = inputs;
  const clock = inputs.clock ?? realClock;
  const cleanup: (() => unknown)[] = [];
  // The abort signal from the very start: whatever is open gets closed by `cleanup`.
  const interrupted = new Promise<never>((_resolve, reject) => {
    const onAbort = () => reject(interruptedError());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    cleanup.push(() => signal.removeEventListener('abort', onAbort));
  });
  interrupted.catch(() => {});
  try {
    if (signal.aborted) throw interruptedError();
    for (const warning of inputs.openStore?.warnings ?? []) out.warn(warning);
    const state = newState();
    // The live line of the wait; refused callbacks are one line each above it.
    const status = new StatusLine(out);
    const { server, redirectUrl } = await bindListener({
      redirectUrl: inputs.config.redirectUrl,
      listen: inputs.options.listen,
      provider,
      state,
      out,
      onRejected: rejectionReporter(
        (text) => status.note(line`${out.c.yellow('⚠')} ${text}`),
        () => clock.now(),
      ),
    });
    if (server) cleanup.push(() => server.close());
    const authorizeUrl = buildAuthorizeUrl(
      { loginBase: provider.loginBase, clientId: provider.credentials.clientId, redirectUrl },
      state,
    );

    out.note(
      line`${out.c.bold('Sign in with DingTalk')}${provider.emulator ? out.c.dim(' (emulator)') : ''}: open this URL in a browser:`,
    );
    out.note(line`  ${authorizeUrl}`);
    const aborts: Promise<never>[] = [interrupted];
    // A headless approval started after the browser failed: its failure ends the wait too.
    let lateFailure: (error: unknown) => void = () => {};
    const late = new Promise<never>((_resolve, reject) => (lateFailure = reject));
    late.catch(() => {});
    aborts.push(late);
    let waiting = true;
    if (provider.autoApprove) {
      out.note(out.c.dim(`emulator: approving as '${provider.autoApprove}' without a browser`));
      aborts.push(approveHeadlessly(authorizeUrl));
    } else if (inputs.openBrowser) {
      progress(out, 'opening the browser…');
      // The browser cannot open (no launcher, no working browser behind DISPLAY): an emulator
      // run approves by itself as a headless run does, instead of waiting out the timeout.
      const cannotOpen = (why: string) => {
        if (!waiting) return;
        const user = provider.headlessUser;
        if (provider.emulator && user) {
          status.note(
            line`${out.c.yellow('⚠')} could not open a browser (${why}); approving as '${user}' without one, as a headless run does`,
          );
          provider.emulator.setAutoApprove(user);
          approveHeadlessly(authorizeUrl).catch(lateFailure);
        } else {
          status.note(line`${out.c.yellow('⚠')} ${BROWSER_FAILED} (${why})`);
        }
      };
      const pageLoads = provider.emulator?.hits.authorize ?? 0;
      try {
        const opened = await inputs.openBrowser(authorizeUrl);
        void opened?.failed.then(cannotOpen);
      } catch (error) {
        cannotOpen(error instanceof Error ? error.message : String(error));
      }
      // A launcher may succeed while the browser behind it dies (xdg-open exits 0 and the
      // browser refuses to start): the emulator sees whether its login page was ever loaded.
      if (provider.emulator) {
        const emulator = provider.emulator;
        const watchdog = clock.setTimeout(() => {
          if (emulator.hits.authorize === pageLoads)
            cannotOpen(`no browser loaded the login page within ${BROWSER_GRACE_MS / 1000} s`);
        }, BROWSER_GRACE_MS);
        cleanup.push(() => clock.clearTimeout(watchdog));
      }
    }
    cleanup.push(() => (waiting = false));

    const accepted = await waitForCallback({
      server,
      state,
      timeoutSeconds: inputs.options.timeoutSeconds,
      out,
      clock,
      aborts,
      // Nobody pastes when the tool approves itself (and opening stdin costs ~8 ms).
      paste: provider.autoApprove === undefined ? inputs.paste : undefined,
      status,
      interrupted: interruptedError,
    });
    waiting = false;
    const dingtalk =
      inputs.dingtalk?.(provider.apiBase) ??
      new DingTalkClient({
        apiBase: provider.apiBase,
        // The emulator in this process: node:http, already loaded for its server (no undici).
        loopback: provider.emulator !== undefined && provider.apiBase === provider.emulator.url,
        beforeFirstRequest: inputs.beforeFirstRequest,
        trace: inputs.trace,
        timeoutMs:
          inputs.options.httpTimeoutSeconds === undefined
            ? undefined
            : inputs.options.httpTimeoutSeconds * 1000,
      });
    cleanup.push(() => dingtalk.close());
    let outcome: LoginOutcome;
    try {
      outcome = await Promise.race([
        completeLogin(accepted.result, { ...inputs, clock, api: announced(dingtalk, out) }),
        interrupted,
      ]);
    } catch (error) {
      await accepted.respond?.(
        pageStatus(error),
        failurePage('Sign-in failed', isCliError(error) ? error.message : 'unexpected error'),
      );
      throw error;
    }
    await accepted.respond?.(
      200,
      successPage({ email: outcome.email, role: outcome.role, nick: outcome.profile.nick }),
    );
    return outcome;
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

/** What muvee does with a NUL in a text it stores (muvee-oracle login; issue 20 L11). */
const MUVEE_NUL =
  'muvee fails this login: PostgreSQL text cannot hold NUL, so its upsert of the user fails and its callback answers 401 "upsert user: ERROR: invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)", storing nothing';

/** Exchange → profile → email → admission → role → store → session. */
async function completeLogin(
  result: CallbackResult,
  ctx: LoginFlowInputs & { clock: Clock; api: DingTalkApi },
): Promise<LoginOutcome> {
  const { config, out, signal } = ctx;
  if (result.kind === 'error') {
    const denied = result.error === 'access_denied';
    // muvee's callback reads no `error`: it exchanges the code it has (none here), and
    // DingTalk refuses an empty code, so muvee fails the login too (401), one call later.
    const muvee =
      "muvee itself ignores 'error' and exchanges the callback's code, if any (DingTalk refuses an empty one, so without a code muvee fails too, with a 401)";
    throw new CliError(
      denied ? 'consent-denied' : 'dingtalk-refused',
      `DingTalk ended the login with error '${result.error}'${result.description ? ` (${result.description})` : ''}; ` +
        (denied
          ? 'the user denied consent: run login again and approve'
          : 'check the app settings in the DingTalk console'),
      { details: { error: result.error, muvee } },
    );
  }
  const warnings: string[] = [];
  if (result.ignoredAuthCode !== undefined) {
    warnings.push(
      `the callback carried code and a different authCode (${result.ignoredAuthCode}); muvee exchanges code, and so did this`,
    );
  }
  for (const name of result.repeated ?? []) {
    warnings.push(
      `the callback carried ${name} more than once; muvee takes the first, and so did this`,
    );
  }
  const userToken = await ctx.api.exchangeCode(result.code, ctx.provider.credentials);
  const profile = await ctx.api.getProfile(userToken.accessToken);
  const resolved = resolveEmail(profile);
  if (hasControl(resolved.email)) {
    const muvee = resolved.email.includes('\0')
      ? MUVEE_NUL
      : `muvee itself would sign this person in with the email exactly as sent, control characters included (${JSON.stringify(resolved.email)})`;
    throw new CliError(
      'dingtalk-bad-response',
      `DingTalk sent an email with control characters ('${safe(resolved.email)}'); refusing to store it or sign it into a session. ${safe(muvee)}`,
      { details: { muvee } },
    );
  }
  warnings.push(...resolved.warnings.map((w) => `the email '${resolved.email}': ${w}`));
  // Issue 20 L4: invisible characters make two different accounts look the same.
  const invisible = invisibleIn(resolved.email);
  if (invisible.length > 0)
    warnings.push(
      `the email '${resolved.email}' holds invisible characters (${invisible.join(', ')}): it looks like '${resolved.email.replace(/[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0]/gu, '')}' but is another account to muvee`,
    );
  const nick = typeof profile.nick === 'string' ? invisibleIn(profile.nick) : [];
  if (nick.length > 0)
    warnings.push(
      `the nickname holds invisible characters (${nick.join(', ')}): shown escaped; it may imitate another person's`,
    );
  const rules = ctx.options.rules ?? 'documented';
  const admissions = { ...bothRules(resolved.email, config.allowedDomains.items), rules };
  const admission = admissions[rules];
  const role = roleFor(resolved.email, config.adminEmails.items);
  const hint = adminHint(resolved.email, config.adminEmails.items);
  if (hint) warnings.push(hint);
  if (!admission.admitted) {
    if (!out.json) printProfile(out, profile, resolved, { admission, admissions, role, warnings });
    const muvee = admissions.server.admitted
      ? "muvee's server code (since 2026-03-28) would admit this person all the same: it skips ALLOWED_DOMAINS for DingTalk (--rules server follows it)"
      : undefined;
    throw new CliError(
      'policy-denied',
      `muvee would refuse ${resolved.email}: ${admission.reason}; add the domain to ALLOWED_DOMAINS, or sign in with another account. Nothing was stored.${muvee ? ` ${muvee}.` : ''}`,
      {
        details: {
          email: resolved.email,
          admission: { documented: admissions.documented, server: admissions.server, rules },
          ...(muvee ? { muvee } : {}),
        },
      },
    );
  }
  // Issue 20 L11: PostgreSQL text cannot hold NUL, so muvee's upsert of this user fails; the
  // same outcome here, whatever the engine (and with --no-store: it is what muvee would do).
  const nul = (['nick', 'avatarUrl'] as const).find((f) => profile[f]?.includes('\0'));
  if (nul) {
    throw new CliError(
      'dingtalk-bad-response',
      `DingTalk sent a ${nul === 'nick' ? 'nickname' : 'avatar URL'} holding a NUL character ('${safe(profile[nul])}'); ${MUVEE_NUL}. Nothing was stored; the person can sign in once it holds none`,
      { details: { field: nul, muvee: MUVEE_NUL } },
    );
  }
  const now = ctx.clock.now();
  let stored: LoginResult | undefined;
  if (ctx.openStore) {
    // The flow may still be running after Ctrl-C (the race already ended the login): no write.
    if (signal.aborted) throw interruptedError();
    const store = await ctx.openStore();
    try {
      if (signal.aborted) throw interruptedError();
      stored = await store.recordLogin({
        email: resolved.email,
        name: typeof profile.nick === 'string' ? profile.nick : '',
        avatarUrl: typeof profile.avatarUrl === 'string' ? profile.avatarUrl : '',
        admin: role === 'admin',
        unionId: profile.unionId || undefined,
        now: new Date(now),
      });
    } finally {
      await store.close();
    }
  }
  if (stored && stored.otherUnionIds.length > 0) {
    warnings.push(
      `the email ${resolved.email} belonged to DingTalk account ${stored.otherUnionIds.join(', ')}; muvee signs this account (${profile.unionId ?? 'no unionId'}) in as the same user, ${stored.user.id}: muvee keys users on the email alone`,
    );
  }
  const finalRole = stored?.user.role ?? role;
  const iat = Math.floor(now / 1000);
  // A dry run for a new user has no id yet (muvee makes it at insert): no token, as a token
  // whose uid is not a user's id verifies nowhere; the outcome says what it will hold.
  const uid = stored?.user.id === NEW_USER_ID ? undefined : (stored?.user.id ?? randomUUID());
  const { token, claims } =
    uid === undefined
      ? { token: undefined, claims: { exp: iat + SESSION_TTL_SECONDS } }
      : mintSessionToken({ uid, email: resolved.email, role: finalRole }, ctx.jwtSecret, {
          now: iat,
        });
  return {
    profile,
    email: resolved.email,
    emailSource: resolved.source,
    emailNote: resolved.note,
    admission,
    admissions,
    warnings,
    role: finalRole,
    stored,
    token,
    iat,
    exp: claims.exp,
    uid,
  };
}

/** A progress line on a terminal (quiet under --json and when stderr is not a terminal). */
function progress(out: Output, text: string): void {
  if (out.interactive) out.note(out.c.dim(text));
}

/** The DingTalk calls, each announced as it starts (they can take seconds). */
function announced(api: DingTalkApi, out: Output): DingTalkApi {
  return {
    exchangeCode: (...args) => {
      progress(out, 'exchanging the code with DingTalk…');
      return api.exchangeCode(...args);
    },
    getProfile: (...args) => {
      progress(out, 'fetching the profile…');
      return api.getProfile(...args);
    },
    close: () => api.close(),
  };
}

/** The failure page's status: 403 when DingTalk or the policy refused, 502 when unreachable. */
function pageStatus(error: unknown): number {
  const code = isCliError(error) ? error.exitCode : 1;
  return code === 3 || code === 6 ? 403 : code === 4 ? 502 : 500;
}
