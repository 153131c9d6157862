/**
 * The few HTML pages the tool serves (callback result pages, the emulator's login page).
 * Every value that reaches HTML goes through {@link escapeHtml}.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (ch) => ESCAPES[ch] ?? ch);
}

/** Headers for every page: no caching, no referrer (the URL carries a code), no scripts. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:",
} as const;

const STYLE = `
  :root { color-scheme: light; }
  body { margin: 0; font: 15px/1.5 -apple-system, "PingFang SC", "Microsoft YaHei", "Segoe UI", sans-serif;
         background: #f2f4f7; color: #1f2329; display: flex; min-height: 100vh; align-items: center; justify-content: center; }
  main { background: #fff; border-radius: 12px; box-shadow: 0 4px 24px rgba(0,0,0,.08); padding: 32px 36px; width: min(440px, 90vw); }
  h1 { font-size: 20px; margin: 0 0 8px; }
  p { margin: 8px 0; color: #51565d; }
  .badge { display: inline-block; width: 40px; height: 40px; border-radius: 50%; color: #fff; font-size: 22px;
           line-height: 40px; text-align: center; margin-bottom: 12px; }
  .ok { background: #00b42a; } .fail { background: #f54a45; } .brand { background: #0089ff; }
  code { background: #f2f4f7; padding: 1px 5px; border-radius: 4px; word-break: break-all; }
  label.user { display: flex; gap: 12px; align-items: center; padding: 10px 12px; border: 1px solid #e5e6eb;
               border-radius: 8px; margin: 8px 0; cursor: pointer; }
  label.user:has(input:checked) { border-color: #0089ff; background: #f0f7ff; }
  .avatar { width: 36px; height: 36px; border-radius: 50%; background: #3296fa; color: #fff; display: flex;
            align-items: center; justify-content: center; font-weight: 600; flex: none; }
  .who small { display: block; color: #86909c; }
  .buttons { display: flex; gap: 12px; margin-top: 20px; }
  button { flex: 1; font: inherit; padding: 10px; border-radius: 8px; border: 1px solid #0089ff; cursor: pointer; }
  button.approve { background: #0089ff; color: #fff; } button.deny { background: #fff; color: #0089ff; }
  .muted { font-size: 13px; color: #86909c; }
`;

/** A whole page; `body` must already be escaped HTML. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>
${body}
</main></body></html>
`;
}

/** The callback listener's answer after a successful login. */
export function successPage(details: {
  email: string;
  role: string;
  nick: string | undefined;
}): string {
  return page(
    'Signed in: muvee-dingtalk',
    `<div class="badge ok">✓</div>
<h1>Signed in with DingTalk</h1>
<p>Welcome${details.nick ? `, <strong>${escapeHtml(details.nick)}</strong>` : ''}. muvee would sign you in as
<code>${escapeHtml(details.email)}</code> with role <code>${escapeHtml(details.role)}</code>.</p>
<p class="muted">You can close this tab and return to the terminal.</p>`,
  );
}

/** The callback listener's answer when the login failed, or a callback was refused. */
export function failurePage(
  title: string,
  message: string,
  hint = 'Return to the terminal for details.',
): string {
  return page(
    `${title}: muvee-dingtalk`,
    `<div class="badge fail">✗</div>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p class="muted">${escapeHtml(hint)}</p>`,
  );
}
