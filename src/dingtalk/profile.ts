/**
 * The signed-in user's profile as DingTalk's `GET /v1.0/contact/users/me` answers it, and how
 * its one sensitive field is shown. Pure; the protocol's lowest layer (client, trace, muvee's
 * rules and the report import it).
 *
 * @see ../../shared/dingtalk-api.md §3
 */
/** What DingTalk returned for `/v1.0/contact/users/me`, as returned. */
export interface Profile {
  nick?: string;
  avatarUrl?: string;
  mobile?: string;
  openId?: string;
  /** Absent or empty in some answers (muvee then uses the email alone, or `@dingtalk.local`). */
  unionId?: string;
  email?: string;
  stateCode?: string;
  [field: string]: unknown;
}

/** `138****0000`: enough to recognise a number, not to use it. */
export function maskMobile(mobile: string): string {
  const m = mobile.trim();
  if (m.length <= 4) return '*'.repeat(m.length);
  if (m.length <= 7) return `${m.slice(0, 1)}${'*'.repeat(m.length - 3)}${m.slice(-2)}`;
  return `${m.slice(0, 3)}${'*'.repeat(m.length - 7)}${m.slice(-4)}`;
}
