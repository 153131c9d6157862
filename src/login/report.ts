/**
 * What a login prints: the profile and what muvee would do with it, the stored user and the
 * session (human text), or the one JSON document under `--json`.
 */
import type { Profile } from '../dingtalk/client.js';
import type { ResolvedEmail } from '../muvee/identity.js';
import { maskMobile } from '../dingtalk/profile.js';
import { humanDuration, type Output, line, type Safe } from '../cli/output.js';
import { safe } from '../cli/sanitize.js';
import { sessionCookie, SESSION_TTL_SECONDS } from '../muvee/session.js';
import type { Admission, Rules } from '../muvee/identity.js';
import type { LoginResult, Role } from '../muvee/model.js';

/** What one login came to (login/flow.ts `runLoginFlow`), for the command to print. */
export interface LoginOutcome {
  profile: Profile;
  email: string;
  emailSource: 'profile' | 'synthetic';
  /** Why the profile's email was not used, when it was not. */
  emailNote: string | undefined;
  /** The verdict under the rules in force (`options.rules`). */
  admission: Admission;
  /** Both ALLOWED_DOMAINS rules: muvee's documentation, and its server code. */
  admissions: { documented: Admission; server: Admission; rules: Rules };
  /** What muvee does that deserves a look: odd emails, ADMIN_EMAILS near misses, takeovers. */
  warnings: string[];
  /** The role of the token: the stored user's (never demoted), else from ADMIN_EMAILS. */
  role: Role;
  /** Undefined without a store. */
  stored: LoginResult | undefined;
  token: string;
  /** The token's expiry, in seconds since the epoch. */
  exp: number;
  /** The token's uid: the stored user's id, else a fresh UUID. */
  uid: string;
}

/** The profile as DingTalk returned it (mobile masked), then the email, admission and role. */
export function printProfile(
  out: Output,
  profile: Profile,
  resolved: Pick<ResolvedEmail, 'email' | 'source' | 'note'>,
  verdict: Pick<LoginOutcome, 'admission' | 'admissions' | 'warnings'> & { role: string },
  showMobile = false,
): void {
  const { admission, admissions, role } = verdict;
  const { c } = out;
  // DingTalk's text is untrusted (any org member sets their own nickname): sanitised.
  const show = (value: unknown) => (value === undefined || value === '' ? c.dim('—') : safe(value));
  out.line(line`${c.bold('Profile')}${c.dim(' (GET /v1.0/contact/users/me)')}`);
  out.table([
    ['nick', show(profile.nick)],
    ['unionId', show(profile.unionId)],
    ['openId', show(profile.openId)],
    ['email', show(profile.email)],
    [
      'mobile',
      typeof profile.mobile === 'string' && profile.mobile
        ? safe(showMobile ? profile.mobile : maskMobile(profile.mobile))
        : c.dim('—'),
    ],
    ['avatarUrl', show(profile.avatarUrl)],
    ['stateCode', show(profile.stateCode)],
  ]);
  out.line();
  out.line(c.bold('What muvee would do'));
  out.table([
    [
      'email',
      line`${resolved.email} ${c.dim(resolved.source === 'profile' ? '(from the profile)' : `(synthetic: ${resolved.note ?? 'no email'})`)}`,
    ],
    [
      'admitted',
      admission.admitted
        ? line`${c.green('yes')}: ${admission.reason}`
        : line`${c.red('no')}: ${admission.reason}`,
    ],
    ...(admissions.documented.admitted !== admissions.server.admitted
      ? ([
          [
            '',
            c.yellow(
              admissions.rules === 'documented'
                ? `muvee's server code decides otherwise: ${safe(admissions.server.reason)} (--rules server follows it)`
                : `muvee's documentation says otherwise: ${safe(admissions.documented.reason)}`,
            ),
          ],
        ] as [string, Safe][])
      : []),
    [
      'role',
      line`${role} ${c.dim(role === 'admin' ? '(in ADMIN_EMAILS)' : '(not in ADMIN_EMAILS)')}`,
    ],
  ]);
  for (const warning of verdict.warnings) out.warn(warning);
}

/** `login --json`'s document: the shape the README promises, keys in this order. */
export function loginDocument(
  outcome: LoginOutcome,
  options: { showMobile?: boolean; dryRun?: boolean } = {},
): Record<string, unknown> {
  const { stored } = outcome;
  return {
    email: outcome.email,
    emailSource: outcome.emailSource,
    admitted: outcome.admission.admitted,
    admission: outcome.admissions,
    warnings: outcome.warnings,
    role: outcome.role,
    profile:
      typeof outcome.profile.mobile === 'string' && !options.showMobile
        ? { ...outcome.profile, mobile: maskMobile(outcome.profile.mobile) }
        : outcome.profile,
    ...(options.dryRun !== undefined ? { dryRun: options.dryRun } : {}),
    user: stored
      ? {
          id: stored.user.id,
          email: stored.user.email,
          name: stored.user.name,
          avatarUrl: stored.user.avatarUrl,
          role: stored.user.role,
          createdAt: stored.user.createdAt,
        }
      : null,
    sessionToken: outcome.token,
  };
}

export interface ReportContext {
  /** The store as configured, for messages. */
  dbPath: string;
  baseDomain: string | undefined;
  /** A random secret made for this run signed the token (an emulator run). */
  demoSecret: boolean;
  /** muvee's PostgreSQL without --apply: the stored user is what muvee would do; nothing written. */
  dryRun?: boolean;
  /** Show the mobile unmasked (`--show-mobile`); masked everywhere otherwise, JSON included. */
  showMobile?: boolean;
  emulator: boolean;
}

/** Prints a finished login: the JSON document (under `--json`) and the text for humans. */
export function reportLogin(out: Output, outcome: LoginOutcome, ctx: ReportContext): void {
  const { c } = out;
  if (out.json) out.document(loginDocument(outcome, ctx));
  out.line(
    line`${c.green('✓')} Signed in with DingTalk${ctx.emulator ? c.dim(' (emulator)') : ''}`,
  );
  out.line();
  printProfile(
    out,
    outcome.profile,
    { email: outcome.email, source: outcome.emailSource, note: outcome.emailNote },
    outcome,
    ctx.showMobile,
  );
  const { stored } = outcome;
  const refreshed = (overridden: boolean) =>
    overridden ? c.dim(' (overridden by the user: not refreshed)') : '';
  const userRows: [string, Safe | string][] = stored
    ? [
        ['id', stored.user.id],
        [
          'status',
          ctx.dryRun
            ? c.yellow(
                `dry run: nothing written to ${ctx.dbPath}; muvee would ${stored.created ? 'create this user' : `update this existing user (created ${stored.user.createdAt})`}. --apply writes it`,
              )
            : stored.created
              ? c.green(`new user, stored in ${ctx.dbPath}`)
              : line`existing user updated in ${ctx.dbPath} (created ${stored.user.createdAt})`,
        ],
        ['name', line`${stored.user.name}${refreshed(stored.user.nameOverridden)}`],
        [
          'avatar',
          line`${stored.user.avatarUrl ? stored.user.avatarUrl : c.dim('—')}${refreshed(stored.user.avatarOverridden)}`,
        ],
        [
          'role',
          line`${stored.user.role}${stored.promoted ? c.green(' (promoted to admin by ADMIN_EMAILS)') : ''} ${c.dim('(platform_members)')}`,
        ],
        [
          'access',
          line`${stored.accessMode} mode: ${
            stored.user.authorized
              ? c.green('let in')
              : c.yellow(
                  'pending approval: muvee shows the waiting page until an admin approves (muvee-dingtalk admin approve)',
                )
          }`,
        ],
      ]
    : [
        [
          'status',
          c.yellow(
            `not stored (--no-store); the token's uid ${outcome.uid} belongs to no stored user`,
          ),
        ],
      ];
  if (stored?.previousEmailForUnionId) {
    userRows.push([
      'note',
      c.yellow(
        `this DingTalk account (unionId ${safe(outcome.profile.unionId)}) was stored before as ${safe(stored.previousEmailForUnionId)}; its email changed`,
      ),
    ]);
  }
  out.line();
  out.line(c.bold(ctx.dryRun ? "The user in muvee's database (dry run)" : 'Stored user'));
  out.table(userRows);
  const site = ctx.baseDomain ? `https://${ctx.baseDomain}/` : 'http://localhost:8080/';
  out.line();
  out.line(
    line`${c.bold('Session')}${c.dim(` (HS256, expires in ${humanDuration(SESSION_TTL_SECONDS)})`)}`,
  );
  if (out.json) {
    // Human text goes to stderr under --json, which lands in CI logs: no live session there.
    out.line(
      line`  ${c.dim('the session token is in the JSON document (sessionToken), not repeated here')}`,
    );
  } else {
    const rows: [string, Safe | string][] = [
      ['cookie', sessionCookie(outcome.token)],
      ['curl', `curl -H 'Cookie: muvee_session=${outcome.token}' ${site}`],
    ];
    if (!ctx.demoSecret)
      rows.push(['check', `muvee-dingtalk verify-token 'muvee_session=${outcome.token}'`]);
    out.table(rows);
  }
  if (ctx.demoSecret) {
    out.line();
    out.line(
      c.yellow(
        '⚠ an emulator run: a random secret made for this run signed the token, so muvee will not accept it (demo users never get a real session). --use-jwt-secret signs with JWT_SECRET instead.',
      ),
    );
  }
}
