/**
 * muvee's rules for who a DingTalk profile becomes, pure, as muvee's server code applies them
 * (shared/muvee-server.md §1–2): the email exactly as DingTalk sent it (else
 * `{unionId}@dingtalk.local`), admission under both ALLOWED_DOMAINS rules (the documented one,
 * and the server's, which skips the check for DingTalk), and the role ADMIN_EMAILS gives,
 * matched exactly. Nothing is trimmed or lower-cased: muvee does neither.
 */
import type { Profile } from '../dingtalk/profile.js';
import { isEmail } from './shapes.js';
import type { Role } from './model.js';

export const SYNTHETIC_DOMAIN = 'dingtalk.local';

export interface ResolvedEmail {
  email: string;
  source: 'profile' | 'synthetic';
  /** Why the profile's email was not used, when it was not. */
  note: string | undefined;
  /** What looks odd about the email muvee will use (it uses it all the same). */
  warnings: string[];
}

/** The profile's `email` exactly as sent when it is a non-empty string; else `{unionId}@dingtalk.local`. */
export function resolveEmail(profile: Pick<Profile, 'email' | 'unionId'>): ResolvedEmail {
  const sent = profile.email;
  if (typeof sent === 'string' && sent !== '') {
    return { email: sent, source: 'profile', note: undefined, warnings: emailWarnings(sent) };
  }
  const unionId = typeof profile.unionId === 'string' ? profile.unionId : '';
  const email = `${unionId}@${SYNTHETIC_DOMAIN}`;
  return {
    email,
    source: 'synthetic',
    note: 'the profile has no email (the user never set one, or DingTalk withheld it)',
    warnings:
      unionId === ''
        ? [
            `the profile has no unionId either: muvee signs this person in as '${email}', one account shared by every such person`,
          ]
        : [],
  };
}

/** Pure: what is odd about an email DingTalk sent (muvee uses it as sent, oddities included). */
export function emailWarnings(email: string): string[] {
  const warnings: string[] = [];
  if (email !== email.trim())
    warnings.push(
      'it has leading or trailing spaces: muvee keeps them, so this is a user of its own',
    );
  if (email !== email.toLowerCase())
    warnings.push(
      'it has capital letters: muvee matches emails exactly, so another spelling is another user',
    );
  const at = email.lastIndexOf('@');
  if (!isEmail(email.trim())) {
    warnings.push('it is not an email address; muvee uses it all the same');
  } else if (!email.slice(at + 1).includes('.')) {
    warnings.push(`its domain '${email.slice(at + 1).trim()}' has no dot`);
  }
  if (/\.local\s*$/i.test(email))
    warnings.push(
      'it is a real address from the profile under .local, not a synthetic one: the documented ALLOWED_DOMAINS rule lets every *.local address through',
    );
  return warnings;
}

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}

export interface Admission {
  admitted: boolean;
  reason: string;
}

/** Which ALLOWED_DOMAINS rule a verdict follows: muvee's documentation, or its server code. */
export type Rules = 'documented' | 'server';
export const RULES: readonly Rules[] = ['documented', 'server'];

/**
 * The documented rule: `*.local` addresses bypass the list; a real one must have its domain in
 * it (exactly: muvee lower-cases nothing) when it is non-empty.
 */
export function admit(email: string, allowedDomains: readonly string[]): Admission {
  const domain = emailDomain(email);
  if (/(^|\.)local$/.test(domain)) {
    return { admitted: true, reason: `a *.local address, not subject to ALLOWED_DOMAINS` };
  }
  if (allowedDomains.length === 0) {
    return { admitted: true, reason: 'ALLOWED_DOMAINS is empty, so every domain is admitted' };
  }
  if (allowedDomains.includes(domain)) {
    return { admitted: true, reason: `'${domain}' is in ALLOWED_DOMAINS` };
  }
  const caseOnly = allowedDomains.find((d) => d.toLowerCase() === domain.toLowerCase());
  return {
    admitted: false,
    reason:
      `'${domain}' is not in ALLOWED_DOMAINS (${allowedDomains.join(', ')})` +
      (caseOnly ? `; '${caseOnly}' differs only in case, and muvee compares exactly` : ''),
  };
}

/**
 * Both rules. muvee's server code (since 2026-03-28) skips the domain check for org-scoped
 * providers such as DingTalk: every DingTalk email is admitted there.
 */
export function admission(
  email: string,
  allowedDomains: readonly string[],
): { documented: Admission; server: Admission } {
  const documented = admit(email, allowedDomains);
  const server: Admission = {
    admitted: true,
    reason:
      allowedDomains.length === 0
        ? 'ALLOWED_DOMAINS is empty'
        : "muvee's server skips ALLOWED_DOMAINS for DingTalk (an org-scoped provider)",
  };
  return { documented, server };
}

/** `admin` when the email is in `ADMIN_EMAILS` exactly (case-sensitive, as muvee), else `member`. */
export function roleFor(email: string, adminEmails: readonly string[]): Role {
  return adminEmails.includes(email) ? 'admin' : 'member';
}

/** A hint when the email is in ADMIN_EMAILS but for the case of its letters (or spaces). */
export function adminHint(email: string, adminEmails: readonly string[]): string | undefined {
  if (adminEmails.includes(email)) return undefined;
  const near = adminEmails.find((a) => a.trim().toLowerCase() === email.trim().toLowerCase());
  return near
    ? `ADMIN_EMAILS has '${near}', which differs from '${email}' only in case or spaces; muvee matches exactly, so this person is not admin`
    : undefined;
}
