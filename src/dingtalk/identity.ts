/**
 * muvee's rules for who a DingTalk profile becomes, pure (design.md, "What muvee does" 5–6):
 * the email (the profile's, else `{unionId}@dingtalk.local`), whether `ALLOWED_DOMAINS`
 * admits it, and the role `ADMIN_EMAILS` gives it.
 */
import type { Role } from '../session.js';
import type { Profile } from './client.js';

export const SYNTHETIC_DOMAIN = 'dingtalk.local';

export interface ResolvedEmail {
  email: string;
  source: 'profile' | 'synthetic';
  /** Why the profile's email was not used, when it was not. */
  note: string | undefined;
}

/** The profile's `email` when it is a usable address; else `{unionId}@dingtalk.local`. */
export function resolveEmail(profile: Pick<Profile, 'email' | 'unionId'>): ResolvedEmail {
  const raw = typeof profile.email === 'string' ? profile.email.trim() : '';
  if (raw !== '' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw)) {
    return { email: raw, source: 'profile', note: undefined };
  }
  return {
    email: `${profile.unionId.trim()}@${SYNTHETIC_DOMAIN}`,
    source: 'synthetic',
    note:
      raw === ''
        ? 'the profile has no email (the user never set one, or DingTalk withheld it)'
        : `the profile's email '${raw}' is not an address`,
  };
}

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

export interface Admission {
  admitted: boolean;
  reason: string;
}

/** `*.local` addresses bypass the list; a real one must have its domain in it when it is non-empty. */
export function admit(email: string, allowedDomains: readonly string[]): Admission {
  const domain = emailDomain(email);
  if (domain === 'local' || domain.endsWith('.local')) {
    return { admitted: true, reason: `synthetic *.local address, not subject to ALLOWED_DOMAINS` };
  }
  if (allowedDomains.length === 0) {
    return { admitted: true, reason: 'ALLOWED_DOMAINS is empty, so every domain is admitted' };
  }
  if (allowedDomains.includes(domain)) {
    return { admitted: true, reason: `'${domain}' is in ALLOWED_DOMAINS` };
  }
  return {
    admitted: false,
    reason: `'${domain}' is not in ALLOWED_DOMAINS (${allowedDomains.join(', ')})`,
  };
}

/** `admin` when the email is in `ADMIN_EMAILS` (case-insensitive), else `member`. */
export function roleFor(email: string, adminEmails: readonly string[]): Role {
  return adminEmails.includes(email.toLowerCase()) ? 'admin' : 'member';
}

/** `138****0000`: enough to recognise a number, not to use it. */
export function maskMobile(mobile: string): string {
  const m = mobile.trim();
  if (m.length <= 4) return '*'.repeat(m.length);
  if (m.length <= 7) return `${m.slice(0, 1)}${'*'.repeat(m.length - 3)}${m.slice(-2)}`;
  return `${m.slice(0, 3)}${'*'.repeat(m.length - 7)}${m.slice(-4)}`;
}
