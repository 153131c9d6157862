/**
 * The login scenario table: what DingTalk answers (the callback's query, the user-token answer
 * and the profile answer, each as raw bytes and a status), what muvee's database holds before
 * (access mode, invitations, earlier logins, overrides) and muvee's configuration. Each row is
 * run through muvee's own code (`muvee-oracle login`) and through this tool (`login --db
 * postgres://… --apply`, and its dry run) by test/differential-logins.test.ts.
 *
 * Add rows freely: nothing here says what the outcome should be. The outcome is muvee's
 * (recorded in test/fixtures/differential/logins.json by scripts/record-differential.mjs).
 */

export interface FakeAnswerSpec {
  status: number;
  body: string;
  contentType?: string;
}

export interface ScenarioEnv {
  ADMIN_EMAILS?: string;
  ALLOWED_DOMAINS?: string;
}

/** A step that sets up muvee's database before the login under test, on both sides. */
export type SetupStep =
  /** muvee's admin UI sets the access mode (the tool: `admin access-mode <mode> --apply`). */
  | { mode: 'open' | 'invite' | 'request' }
  /** muvee's SetSetting with any value (both sides: muvee-oracle `setting`). */
  | { setting: [key: string, value: string] }
  /**
   * muvee's CreateInvitation by the first user (the tool: `admin invite <email> --apply`);
   * needs a user: put a login first.
   */
  | { invite: string }
  /** muvee's profile edit of the user with exactly this email (the tool: `admin override`). */
  | { override: { email: string; name: string } }
  /** An earlier login of this profile (200, `authCode`, a good token), on each side by itself. */
  | { login: string; env?: ScenarioEnv };

export interface LoginScenario {
  id: string;
  title: string;
  /** muvee's ALLOWED_DOMAINS and ADMIN_EMAILS for the login under test (default: neither). */
  env?: ScenarioEnv;
  /** Only for this tool (e.g. MUVEE_DINGTALK_RULES). */
  toolEnv?: Record<string, string>;
  setup?: SetupStep[];
  /** The callback's query without `state` (default `authCode=auth-code-1`). */
  callback?: string;
  /** The user-token answer (default 200 with an accessToken). */
  exchange?: FakeAnswerSpec;
  profile: FakeAnswerSpec;
}

export const DEFAULT_CALLBACK = 'authCode=auth-code-1';
export const GOOD_EXCHANGE: FakeAnswerSpec = {
  status: 200,
  body: '{"accessToken":"user-access-token-1","refreshToken":"refresh-1","expireIn":7200}',
};

const ok = (body: string): FakeAnswerSpec => ({ status: 200, body });
const json = (value: unknown): string => JSON.stringify(value);
const person = (extra: Record<string, unknown>) =>
  ok(
    json({ nick: 'Zhang San', unionId: 'union-zs', openId: 'open-zs', stateCode: '86', ...extra }),
  );

/** The user whose id invitations carry (muvee records who invited). */
const INVITER: SetupStep = {
  login: json({ nick: 'Boss', unionId: 'union-boss', email: 'boss@corp.example' }),
  env: { ADMIN_EMAILS: 'boss@corp.example' },
};

const DINGTALK_ERROR = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  json({ requestid: 'REQ-1', code, message, ...extra });

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

export const SCENARIOS: LoginScenario[] = [
  // --- profile shapes -------------------------------------------------------------------------
  {
    id: 'profile-full',
    title: 'a full profile with an email',
    profile: person({
      email: 'zhangsan@corp.example',
      avatarUrl: 'https://static.example/zs.png',
      mobile: '13800000000',
    }),
  },
  { id: 'profile-email-empty', title: 'email empty', profile: person({ email: '' }) },
  { id: 'profile-email-absent', title: 'no email key', profile: person({}) },
  {
    id: 'profile-email-key-Email',
    title: 'the key "Email" (Go matches JSON keys case-insensitively)',
    profile: ok('{"nick":"Cap","unionId":"union-cap","Email":"cap@corp.example"}'),
  },
  {
    id: 'profile-email-key-EMAIL',
    title: 'the key "EMAIL"',
    profile: ok('{"nick":"Up","unionId":"union-up","EMAIL":"up@corp.example"}'),
  },
  {
    id: 'profile-email-twice-cases',
    title: '"email" then "Email": the last one wins in Go',
    profile: ok('{"unionId":"union-2","email":"first@corp.example","Email":"second@corp.example"}'),
  },
  {
    id: 'profile-email-then-null',
    title: 'an email, then the same key null (Go keeps the first value)',
    profile: ok('{"unionId":"union-null2","email":"kept@corp.example","email":null}'),
  },
  {
    id: 'profile-nick-number',
    title: 'nick is a number (muvee: json decode fails the login)',
    profile: ok('{"nick":12345,"unionId":"union-n","email":"num@corp.example"}'),
  },
  {
    id: 'profile-mobile-number',
    title: 'mobile is a number',
    profile: ok('{"nick":"M","unionId":"union-m","email":"mob@corp.example","mobile":13800000000}'),
  },
  {
    id: 'profile-avatar-object',
    title: 'avatarUrl is an object',
    profile: ok('{"nick":"A","unionId":"union-a","avatarUrl":{"url":"x"}}'),
  },
  {
    id: 'profile-unionid-number',
    title: 'unionId is a number',
    profile: ok('{"nick":"U","unionId":42,"email":"uid@corp.example"}'),
  },
  {
    id: 'profile-email-bool',
    title: 'email is true',
    profile: ok('{"nick":"B","unionId":"union-b","email":true}'),
  },
  {
    id: 'profile-openid-statecode-odd',
    title: 'openId a number, stateCode false (fields muvee does not read)',
    profile: ok('{"nick":"O","unionId":"union-o","openId":7,"stateCode":false}'),
  },
  {
    id: 'profile-nick-kelvin',
    title: 'the key "nic\\u212a" (KELVIN SIGN folds to k in Go)',
    profile: ok('{"nic\u212a":"Kelvin","unionId":"union-k","email":"kelvin@corp.example"}'),
  },
  {
    id: 'profile-nick-kelvin-number',
    title: 'the key "nic\\u212a" holding a number',
    profile: ok('{"nic\u212a":5,"unionId":"union-k2","email":"kelvin2@corp.example"}'),
  },
  { id: 'profile-null', title: 'the body null', profile: ok('null') },
  { id: 'profile-empty-object', title: 'the body {}', profile: ok('{}') },
  { id: 'profile-array', title: 'the body []', profile: ok('[]') },
  {
    id: 'profile-not-json',
    title: 'an HTML page with 200',
    profile: {
      status: 200,
      body: '<html><body>captive portal</body></html>',
      contentType: 'text/html',
    },
  },
  {
    id: 'profile-trailing-garbage',
    title: 'a JSON object followed by more text',
    profile: ok('{"nick":"T","unionId":"union-t","email":"t@corp.example"} x'),
  },
  {
    id: 'profile-bom',
    title: 'a byte order mark before the JSON',
    profile: ok('\ufeff{"nick":"Bom","unionId":"union-bom","email":"bom@corp.example"}'),
  },
  {
    id: 'profile-text-plain',
    title: 'JSON served as text/plain',
    profile: {
      status: 200,
      body: json({ nick: 'P', unionId: 'union-p' }),
      contentType: 'text/plain',
    },
  },
  {
    id: 'profile-extra-fields',
    title: 'extra fields (visitor, loginEmail, nested values)',
    profile: ok(
      json({
        nick: 'Extra',
        unionId: 'union-x',
        email: 'extra@corp.example',
        visitor: false,
        loginEmail: 'login@corp.example',
        more: { deep: [1, 2, { a: null }] },
      }),
    ),
  },
  {
    id: 'profile-deep-extra',
    title: 'an unknown field nested 10001 deep (Go stops at 10000)',
    profile: ok(`{"nick":"D","unionId":"union-d","x":${deep(10001)}}`),
  },
  {
    id: 'profile-deep-extra-ok',
    title: 'an unknown field nested 9999 deep',
    profile: ok(`{"nick":"D","unionId":"union-d2","x":${deep(9999)}}`),
  },
  {
    id: 'profile-unionid-empty-email',
    title: 'unionId empty, an email',
    profile: ok('{"nick":"E","unionId":"","email":"only-email@corp.example"}'),
  },
  {
    id: 'profile-unionid-empty-no-email',
    title: 'unionId empty and no email',
    profile: ok('{"nick":"Nobody","unionId":""}'),
  },
  {
    id: 'profile-email-spaces',
    title: 'an email with spaces around it (kept exactly)',
    profile: person({ email: ' spaced@corp.example ' }),
  },
  {
    id: 'profile-email-mixed-case',
    title: 'an email with capitals (kept exactly)',
    profile: person({ email: 'Mixed.Case@Corp.Example' }),
  },
  {
    id: 'profile-email-lone-surrogate',
    title: 'an email with an escaped lone surrogate (Go decodes it to U+FFFD)',
    profile: ok('{"unionId":"union-s","email":"s\\ud800x@corp.example"}'),
  },
  {
    id: 'profile-email-escaped',
    title: 'an email written with \\u escapes',
    profile: ok('{"unionId":"union-esc","email":"\\u0065sc@corp.example"}'),
  },
  // --- the code exchange ----------------------------------------------------------------------
  {
    id: 'exchange-400-error',
    title: "400 with DingTalk's error and no token",
    exchange: {
      status: 400,
      body: DINGTALK_ERROR('invalidParameter.authCode.notFound', '不合法的临时授权码'),
    },
    profile: person({ email: 'x400@corp.example' }),
  },
  {
    id: 'exchange-400-with-token',
    title: '400 whose body has an accessToken',
    exchange: { status: 400, body: json({ code: 'Weird', accessToken: 'tok-400' }) },
    profile: person({ email: 't400@corp.example' }),
  },
  {
    id: 'exchange-500-with-token',
    title: '500 whose body has an accessToken',
    exchange: { status: 500, body: json({ accessToken: 'tok-500', expireIn: 7200 }) },
    profile: person({ email: 't500@corp.example' }),
  },
  {
    id: 'exchange-500-no-token',
    title: '500 without a token',
    exchange: { status: 500, body: DINGTALK_ERROR('InternalError', 'boom') },
    profile: person({ email: 'n500@corp.example' }),
  },
  {
    id: 'exchange-key-AccessToken',
    title: 'the key "AccessToken"',
    exchange: ok('{"AccessToken":"tok-cap","expireIn":7200}'),
    profile: person({ email: 'capkey@corp.example' }),
  },
  {
    id: 'exchange-not-json',
    title: 'a text body with 200',
    exchange: { status: 200, body: 'upstream connect error', contentType: 'text/plain' },
    profile: person({ email: 'nj@corp.example' }),
  },
  {
    id: 'exchange-token-empty',
    title: 'accessToken empty',
    exchange: ok('{"accessToken":""}'),
    profile: person({ email: 'te@corp.example' }),
  },
  {
    id: 'exchange-token-number',
    title: 'accessToken a number',
    exchange: ok('{"accessToken":12345}'),
    profile: person({ email: 'tn@corp.example' }),
  },
  {
    id: 'exchange-message-number',
    title: 'a token, and message a number (muvee: json decode fails)',
    exchange: ok('{"accessToken":"tok-m","message":5}'),
    profile: person({ email: 'mn@corp.example' }),
  },
  {
    id: 'exchange-code-with-token',
    title: '200 with a token and an error code',
    exchange: ok('{"accessToken":"tok-c","code":"SomethingOdd","message":"odd"}'),
    profile: person({ email: 'codetok@corp.example' }),
  },
  {
    id: 'exchange-token-then-null',
    title: 'accessToken, then accessToken null (Go keeps the first)',
    exchange: ok('{"accessToken":"tok-first","accessToken":null}'),
    profile: person({ email: 'tnull@corp.example' }),
  },
  { id: 'exchange-null', title: 'the body null', exchange: ok('null'), profile: person({}) },
  // --- the profile's HTTP status --------------------------------------------------------------
  {
    id: 'profile-403-permission',
    title: '403: the app lacks Contact.User.Read',
    profile: {
      status: 403,
      body: DINGTALK_ERROR(
        'Forbidden.AccessDenied.AccessTokenPermissionDenied',
        '没有调用该接口的权限',
        {
          accessdenieddetail: { requiredScopes: ['Contact.User.Read'] },
        },
      ),
    },
  },
  {
    id: 'profile-404',
    title: '404: user not found',
    profile: {
      status: 404,
      body: DINGTALK_ERROR('invalidParameter.user.notFound', '找不到该用户'),
    },
  },
  {
    id: 'profile-500',
    title: '500 with an error body',
    profile: { status: 500, body: DINGTALK_ERROR('InternalError', 'boom') },
  },
  {
    id: 'profile-500-with-person',
    title: '500 whose body is a whole profile',
    profile: {
      status: 500,
      body: json({ nick: 'F', unionId: 'union-f', email: 'f500@corp.example' }),
    },
  },
  {
    id: 'profile-502-html',
    title: '502 with an HTML page',
    profile: { status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' },
  },
  // --- callback parameters --------------------------------------------------------------------
  {
    id: 'callback-code-only',
    title: 'code only',
    callback: 'code=c-only',
    profile: person({ email: 'c1@corp.example' }),
  },
  {
    id: 'callback-both-same',
    title: 'code and authCode, the same',
    callback: 'code=c-same&authCode=c-same',
    profile: person({ email: 'c2@corp.example' }),
  },
  {
    id: 'callback-both-differ',
    title: 'code and authCode differ (muvee exchanges code)',
    callback: 'authCode=c-auth&code=c-code',
    profile: person({ email: 'c3@corp.example' }),
  },
  {
    id: 'callback-code-twice',
    title: 'code twice (muvee takes the first)',
    callback: 'code=c-first&code=c-second',
    profile: person({ email: 'c4@corp.example' }),
  },
  {
    id: 'callback-authcode-twice',
    title: 'authCode twice',
    callback: 'authCode=a-first&authCode=a-second',
    profile: person({ email: 'c5@corp.example' }),
  },
  {
    id: 'callback-code-empty',
    title: 'code empty, authCode set',
    callback: 'code=&authCode=a-set',
    profile: person({ email: 'c6@corp.example' }),
  },
  {
    id: 'callback-code-semicolon',
    title: "a code with ';' (Go drops that pair and reads authCode)",
    callback: 'code=c;x&authCode=a-semi',
    profile: person({ email: 'c7@corp.example' }),
  },
  {
    id: 'callback-error-denied',
    title: 'error=access_denied (DingTalk refuses the empty code muvee then exchanges)',
    callback: 'error=access_denied',
    exchange: {
      status: 400,
      body: DINGTALK_ERROR('MissingCode', 'code is mandatory for this action.'),
    },
    profile: person({ email: 'c8@corp.example' }),
  },
  // --- access modes and invitations -----------------------------------------------------------
  {
    id: 'mode-invite-not-invited',
    title: 'invite mode, a new person not invited',
    setup: [{ mode: 'invite' }],
    profile: person({ email: 'stranger@corp.example' }),
  },
  {
    id: 'mode-invite-invited',
    title: 'invite mode, invited exactly',
    setup: [INVITER, { mode: 'invite' }, { invite: 'guest@corp.example' }],
    profile: person({ email: 'guest@corp.example' }),
  },
  {
    id: 'mode-invite-invitation-capitals',
    title: 'invite mode, invitation written with capitals',
    setup: [INVITER, { mode: 'invite' }, { invite: 'Guest.Cap@Corp.Example' }],
    profile: person({ email: 'guest.cap@corp.example' }),
  },
  {
    id: 'mode-invite-email-capitals',
    title: 'invite mode, the email has capitals, the invitation none',
    setup: [INVITER, { mode: 'invite' }, { invite: 'guest.low@corp.example' }],
    profile: person({ email: 'Guest.Low@corp.example' }),
  },
  {
    id: 'mode-invite-dotted-I-both',
    title: 'invite mode, İ in the invitation and in the email',
    setup: [INVITER, { mode: 'invite' }, { invite: 'İlker@corp.example' }],
    profile: person({ email: 'İlker@corp.example' }),
  },
  {
    id: 'mode-invite-dotted-I-invitation',
    title: 'invite mode, İ in the invitation, i in the email',
    setup: [INVITER, { mode: 'invite' }, { invite: 'İpek@corp.example' }],
    profile: person({ email: 'ipek@corp.example' }),
  },
  {
    id: 'mode-invite-dotted-I-email',
    title: 'invite mode, i in the invitation, İ in the email',
    setup: [INVITER, { mode: 'invite' }, { invite: 'ismet@corp.example' }],
    profile: person({ email: 'İsmet@corp.example' }),
  },
  {
    id: 'mode-invite-sigma',
    title: 'invite mode, a final capital sigma (Go: σ, JavaScript: ς)',
    setup: [INVITER, { mode: 'invite' }, { invite: 'ΟΔΥΣΣΕΑΣ@corp.example' }],
    profile: person({ email: 'οδυσσεασ@corp.example' }),
  },
  {
    id: 'mode-invite-feff-email',
    title: 'invite mode, the email ends in U+FEFF (Go does not trim it)',
    setup: [INVITER, { mode: 'invite' }, { invite: 'feff@corp.example' }],
    profile: person({ email: 'feff@corp.example\ufeff' }),
  },
  {
    id: 'mode-invite-feff-invitation',
    title: 'invite mode, the invitation ends in U+FEFF',
    setup: [INVITER, { mode: 'invite' }, { invite: 'feff2@corp.example\ufeff' }],
    profile: person({ email: 'feff2@corp.example' }),
  },
  {
    id: 'mode-invite-spaces',
    title: 'invite mode, spaces around the invitation and the email',
    setup: [INVITER, { mode: 'invite' }, { invite: '  spaced.guest@corp.example  ' }],
    profile: person({ email: ' spaced.guest@corp.example' }),
  },
  {
    id: 'mode-invite-nel',
    title: 'invite mode, the email ends in U+0085 (Go trims it, JavaScript does not)',
    setup: [INVITER, { mode: 'invite' }, { invite: 'nel@corp.example' }],
    profile: person({ email: 'nel@corp.example\u0085' }),
  },
  {
    id: 'mode-invite-existing-member',
    title: 'invite mode, an existing member not invited',
    setup: [
      { login: json({ nick: 'Old', unionId: 'union-old', email: 'old@corp.example' }) },
      { mode: 'invite' },
    ],
    profile: ok(json({ nick: 'Old', unionId: 'union-old', email: 'old@corp.example' })),
  },
  {
    id: 'mode-invite-admin',
    title: 'invite mode, an admin not invited',
    env: { ADMIN_EMAILS: 'chief@corp.example' },
    setup: [{ mode: 'invite' }],
    profile: person({ email: 'chief@corp.example' }),
  },
  {
    id: 'mode-request-new',
    title: 'request mode, a new member (pending)',
    setup: [{ mode: 'request' }],
    profile: person({ email: 'asker@corp.example' }),
  },
  {
    id: 'mode-request-admin',
    title: 'request mode, a new admin',
    env: { ADMIN_EMAILS: 'reqadmin@corp.example' },
    setup: [{ mode: 'request' }],
    profile: person({ email: 'reqadmin@corp.example' }),
  },
  {
    id: 'mode-request-pending-again',
    title: 'request mode, a pending member signs in again',
    setup: [
      { mode: 'request' },
      { login: json({ nick: 'P', unionId: 'union-p2', email: 'pending@corp.example' }) },
    ],
    profile: ok(json({ nick: 'P2', unionId: 'union-p2', email: 'pending@corp.example' })),
  },
  {
    id: 'mode-request-pending-becomes-admin',
    title: 'request mode, a pending member who is now in ADMIN_EMAILS',
    env: { ADMIN_EMAILS: 'risen@corp.example' },
    setup: [
      { mode: 'request' },
      { login: json({ nick: 'R', unionId: 'union-r', email: 'risen@corp.example' }) },
    ],
    profile: ok(json({ nick: 'R', unionId: 'union-r', email: 'risen@corp.example' })),
  },
  {
    id: 'mode-invite-pending-now-invited',
    title: 'a pending member (request mode) invited after the switch to invite mode',
    setup: [
      INVITER,
      { mode: 'request' },
      { login: json({ nick: 'W', unionId: 'union-w', email: 'waiting@corp.example' }) },
      { mode: 'invite' },
      { invite: 'waiting@corp.example' },
    ],
    profile: ok(json({ nick: 'W', unionId: 'union-w', email: 'waiting@corp.example' })),
  },
  {
    id: 'mode-unknown-value',
    title: "access_mode 'closed' (unknown: muvee reads open)",
    setup: [{ setting: ['access_mode', 'closed'] }],
    profile: person({ email: 'closed@corp.example' }),
  },
  // --- ADMIN_EMAILS ---------------------------------------------------------------------------
  {
    id: 'admin-exact',
    title: 'in ADMIN_EMAILS exactly',
    env: { ADMIN_EMAILS: 'root@corp.example,other@corp.example' },
    profile: person({ email: 'root@corp.example' }),
  },
  {
    id: 'admin-case-near-miss',
    title: 'ADMIN_EMAILS differs in case',
    env: { ADMIN_EMAILS: 'Root@corp.example' },
    profile: person({ email: 'root@corp.example' }),
  },
  {
    id: 'admin-spaces-in-list',
    title: 'spaces around the ADMIN_EMAILS items',
    env: { ADMIN_EMAILS: '  root@corp.example , x@corp.example ' },
    profile: person({ email: 'root@corp.example' }),
  },
  {
    id: 'admin-email-trailing-space',
    title: 'the email has a trailing space, ADMIN_EMAILS not',
    env: { ADMIN_EMAILS: 'root@corp.example' },
    profile: person({ email: 'root@corp.example ' }),
  },
  {
    id: 'admin-feff-in-list',
    title: 'an ADMIN_EMAILS item ends in U+FEFF (Go does not trim it)',
    env: { ADMIN_EMAILS: 'root@corp.example\ufeff' },
    profile: person({ email: 'root@corp.example' }),
  },
  {
    id: 'admin-nel-in-list',
    title: 'an ADMIN_EMAILS item ends in U+0085 (Go trims it)',
    env: { ADMIN_EMAILS: 'root@corp.example\u0085' },
    profile: person({ email: 'root@corp.example' }),
  },
  {
    id: 'admin-promotion',
    title: 'an existing member now in ADMIN_EMAILS is promoted',
    env: { ADMIN_EMAILS: 'promo@corp.example' },
    setup: [{ login: json({ nick: 'Pr', unionId: 'union-pr', email: 'promo@corp.example' }) }],
    profile: ok(json({ nick: 'Pr', unionId: 'union-pr', email: 'promo@corp.example' })),
  },
  {
    id: 'admin-never-demoted',
    title: 'an admin no longer in ADMIN_EMAILS stays admin',
    setup: [
      {
        login: json({ nick: 'Ex', unionId: 'union-ex', email: 'exadmin@corp.example' }),
        env: { ADMIN_EMAILS: 'exadmin@corp.example' },
      },
    ],
    profile: ok(json({ nick: 'Ex', unionId: 'union-ex', email: 'exadmin@corp.example' })),
  },
  // --- ALLOWED_DOMAINS ------------------------------------------------------------------------
  {
    id: 'domains-outside',
    title: "ALLOWED_DOMAINS without the email's domain (muvee's server skips it for DingTalk)",
    env: { ALLOWED_DOMAINS: 'corp.example' },
    profile: person({ email: 'someone@elsewhere.example' }),
  },
  {
    id: 'domains-outside-server-rules',
    title: 'the same with --rules server',
    env: { ALLOWED_DOMAINS: 'corp.example' },
    toolEnv: { MUVEE_DINGTALK_RULES: 'server' },
    profile: person({ email: 'someone2@elsewhere.example' }),
  },
  // --- users: identity, overrides -------------------------------------------------------------
  {
    id: 'override-name-kept',
    title: 'the name was overridden in muvee: a login keeps it',
    setup: [
      { login: json({ nick: 'Original', unionId: 'union-ov', email: 'ov@corp.example' }) },
      { override: { email: 'ov@corp.example', name: 'Chosen Name' } },
    ],
    profile: ok(
      json({
        nick: 'Renamed',
        unionId: 'union-ov',
        email: 'ov@corp.example',
        avatarUrl: 'https://a/new.png',
      }),
    ),
  },
  {
    id: 'existing-name-refreshed',
    title: 'an existing user: name and avatar refreshed',
    setup: [{ login: json({ nick: 'Before', unionId: 'union-re', email: 're@corp.example' }) }],
    profile: ok(
      json({
        nick: 'After',
        unionId: 'union-re',
        email: 're@corp.example',
        avatarUrl: 'https://a/re.png',
      }),
    ),
  },
  {
    id: 'existing-other-case',
    title: 'an existing user with the same email in other capitals: another user',
    setup: [{ login: json({ nick: 'Up', unionId: 'union-cs', email: 'Case@corp.example' }) }],
    profile: ok(json({ nick: 'Low', unionId: 'union-cs', email: 'case@corp.example' })),
  },
  {
    id: 'existing-same-union-new-email',
    title: 'the same unionId with a new email: a new user (muvee keys on the email)',
    setup: [{ login: json({ nick: 'One', unionId: 'union-same', email: 'one@corp.example' }) }],
    profile: ok(json({ nick: 'Two', unionId: 'union-same', email: 'two@corp.example' })),
  },
  {
    id: 'existing-synthetic',
    title: 'a synthetic user signs in again',
    setup: [{ login: json({ nick: 'Syn', unionId: 'union-syn' }) }],
    profile: ok(json({ nick: 'Syn2', unionId: 'union-syn' })),
  },
];
