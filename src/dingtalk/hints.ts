/**
 * The fix for each DingTalk error code this tool knows (shared/dingtalk-api.md §5), for the
 * `dingtalk-refused` message. Pure.
 */
const HINTS: [RegExp, string][] = [
  [
    /^(invalidClientIdOrSecret|invalid\.client)$/,
    'check DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET against the AppKey and AppSecret in the DingTalk developer console',
  ],
  [
    /^invalidParameter\.authCode\.notFound$/,
    'the code was already used or expired; start the login again',
  ],
  [
    /^Forbidden\.AccessDenied\.AccessTokenPermissionDenied$/,
    'add the permission %SCOPES% to the app in the DingTalk developer console (权限管理), publish, then log in again',
  ],
  [/^Forbidden\.AccessDenied\.Qps/, 'DingTalk is throttling this app; wait a minute and try again'],
  [
    /^InvalidAuthentication$/,
    'the access token was not accepted (expired or from another app); log in again',
  ],
  [
    /^AuthenticationFailed\.MissingParameter$/,
    'the access token header was missing; this is a bug in the client, please report it',
  ],
  [
    /^invalidParameter\.user\.notFound$/,
    'the signed-in user was not found; is the user a member of the organisation that owns the app?',
  ],
  [/^Missing/, 'DingTalk wants a field it did not get; check the request (camelCase JSON)'],
];

/** Pure: the hint for a DingTalk error code, naming `requiredScopes` when given. */
export function hintFor(code: string, requiredScopes: string[] = []): string {
  for (const [pattern, hint] of HINTS) {
    if (pattern.test(code)) {
      return hint.replace(
        '%SCOPES%',
        requiredScopes.length > 0 ? requiredScopes.join(', ') : 'Contact.User.Read',
      );
    }
  }
  return 'see the DingTalk open platform error code reference';
}
