/**
 * What each README and `--help` example does when run exactly as written (test/examples.test.ts),
 * keyed by its text. The world it runs in (test/examples/sandbox.ts): a private network where
 * login.dingtalk.com and api.dingtalk.com are the built-in emulator (over TLS, no base-URL
 * override), muvee.example.com is muvee's own code (muvee-oracle serve) on PostgreSQL with
 * muvee's migrations, `muvee-dingtalk` and `npx muvee-dingtalk` are the built CLI; the
 * environment holds the emulator's demo app (DINGTALK_CLIENT_ID/SECRET) and a JWT_SECRET, as a
 * filled-in .env would. Each runs in a fresh folder.
 *
 * A new example fails the test until it is classified here; an entry whose example is gone fails
 * it too. A skip says why, and is counted.
 */
import type { Person } from './sandbox.ts';

export interface Expected {
  /** The exit code. */
  code: number;
  /** What stdout and stderr together must hold, each (and `file`, what that file must hold). */
  phrase: RegExp | RegExp[];
  file?: [name: string, content: RegExp];
  /** Why the outcome is what it is, where it is not simply "it works". */
  why?: string;
  /** Run first in the same folder (must exit 0): what a reader has done before this line. */
  setup?: string;
  /** Files the folder holds first. `@` + a path copies that file of the checkout. */
  files?: Record<string, string>;
  /**
   * ./muvee-dingtalk.db holds zhangsan (signed in through DingTalk) and alice@corp.example, a
   * pending member (she signed in in request mode); access mode back to open.
   */
  users?: boolean;
  /**
   * DATABASE_URL: a fresh copy of muvee's PostgreSQL with muvee's migrations, holding admin@ and
   * alice@corp.example (admins), or no user at all (`'empty'`).
   */
  postgres?: boolean | 'empty';
  /** The configuration muvee.example.com runs with (its redirect URL, BASE_DOMAIN, ADMIN_EMAILS). */
  deployed?: boolean;
  /** Changes to the example's environment (null removes a variable); setup runs without them. */
  env?: Record<string, string | null>;
  /** Someone opens the printed authorize URL in a browser and approves. */
  person?: Person;
  /** It runs until stopped: Ctrl-C once this shows. */
  interruptOn?: RegExp;
  /** Loopback ports it binds itself: examples sharing one run one at a time. */
  ports?: number[];
  /** Run in a folder standing for the checkout (package.json, scripts/, src/, node_modules/). */
  checkout?: boolean;
  /** Not run, and why (reported as a skip). */
  skip?: string;
}

const CALLBACK_8080 = [8080];
/** A token for zhangsan in ./token.txt (needs `users`). */
const TOKEN = 'muvee-dingtalk mint-token --email zhangsan@corp.example > token.txt';
const EMULATOR_LOGIN = 'npx muvee-dingtalk login --emulator';
const stored = (where: string) => [
  /email +zhangsan@corp\.example \(from the profile\)/,
  new RegExp(`status +new user, stored in ${where.replace(/\./g, '\\.')}\n`),
  /token +eyJ/,
];
/** A whole login against the built-in emulator, stored in its own file. */
const EMULATOR_LOGIN_STORED = [
  /✓ Signed in with DingTalk \(emulator\)\n/,
  ...stored('./muvee-dingtalk-emulator.db'),
];
/** A whole login against DingTalk (login.dingtalk.com), stored in the default file. */
const LOGIN_STORED = [/✓ Signed in with DingTalk\n/, ...stored('./muvee-dingtalk.db')];
const STOPPED =
  'it serves until Ctrl-C, then says "emulator stopped" and exits 0 (stopping it is its normal end)';

const NPM_CI =
  "npm ci installs from the registry (the network) and compiles native code for minutes; scripts/newcomer-trial.sh runs the README's install from the packed tarball";

export const EXPECTED: Record<string, Expected> = {
  // ---- README: the first lines -------------------------------------------------------------
  'npm ci && npx muvee-dingtalk login --emulator   # the whole flow against a built-in DingTalk, no credentials':
    {
      code: 0,
      phrase: /./,
      skip: `${NPM_CI}; its second half is \`npx muvee-dingtalk login --emulator\` (the program's --help), run here`,
    },
  'npm test                                        # the test suite': {
    code: 0,
    phrase: /./,
    skip: 'the test suite this test is part of (.ci/run runs it on Node 20, 22 and 24)',
  },
  'npx muvee-dingtalk users list                     # zhangsan, from ./muvee-dingtalk-emulator.db':
    {
      code: 0,
      setup: EMULATOR_LOGIN,
      phrase: [/database: \.\/muvee-dingtalk-emulator\.db/, /^zhangsan@corp\.example/m],
    },
  'export JWT_SECRET=$(openssl rand -hex 32)         # a throwaway secret for this try': {
    code: 0,
    phrase: /^$/,
    why: 'a shell assignment for the next lines: prints nothing (openssl is there)',
  },
  'npx muvee-dingtalk mint-token --email zhangsan@corp.example > token.txt': {
    code: 0,
    setup: EMULATOR_LOGIN,
    phrase: /database: \.\/muvee-dingtalk-emulator\.db/,
    file: ['token.txt', /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/],
  },
  'npx muvee-dingtalk verify-token - < token.txt     # valid, and the user is in the database': {
    code: 0,
    setup: `${EMULATOR_LOGIN} && npx muvee-dingtalk mint-token --email zhangsan@corp.example > token.txt`,
    phrase: [/✓ valid/, /local user {2}yes, role member matches/],
  },

  // ---- README: a real DingTalk app -----------------------------------------------------------
  'cp .env.example .env        # fill in DINGTALK_CLIENT_ID, DINGTALK_CLIENT_SECRET, JWT_SECRET, ...':
    {
      code: 0,
      files: { '.env.example': '@.env.example' },
      phrase: /^$/,
      file: ['.env', /^DINGTALK_CLIENT_ID=$/m],
    },
  'npx muvee-dingtalk check-config --live': {
    code: 0,
    files: { '.env.example': '@.env.example' },
    setup: 'cp .env.example .env',
    phrase: /✓ live/,
    why: 'the .env is "filled in" by the environment (the demo app of the DingTalk at login.dingtalk.com here)',
  },
  'npx muvee-dingtalk login': {
    code: 0,
    person: {},
    ports: CALLBACK_8080,
    phrase: LOGIN_STORED,
  },

  // ---- README: login ---------------------------------------------------------------------------
  'muvee-dingtalk login                                   # real DingTalk (needs .env)': {
    code: 0,
    person: {},
    ports: CALLBACK_8080,
    phrase: LOGIN_STORED,
  },
  'muvee-dingtalk login --emulator                        # built-in emulator, no credentials': {
    code: 0,
    phrase: EMULATOR_LOGIN_STORED,
  },
  'muvee-dingtalk login --emulator --auto-approve lisi --json': {
    code: 0,
    phrase: /"email": "[^"]+@dingtalk\.local"/,
  },
  'muvee-dingtalk login --no-browser --timeout 600        # headless: open the printed URL elsewhere':
    { code: 0, person: {}, ports: CALLBACK_8080, phrase: LOGIN_STORED },
  'muvee-dingtalk login --listen 127.0.0.1:9000           # listener elsewhere than the redirect URL (e.g. behind a tunnel)':
    {
      code: 0,
      person: { via: '127.0.0.1:9000' },
      ports: [9000],
      phrase: LOGIN_STORED,
      why: 'the browser lands on localhost:8080, which a tunnel carries to 127.0.0.1:9000',
    },
  'muvee-dingtalk login --http-timeout 30                 # slow network: each DingTalk API call may take 30 s (default 10)':
    { code: 0, person: {}, ports: CALLBACK_8080, phrase: LOGIN_STORED },
  'muvee-dingtalk login --client-id dingxxx --redirect-url http://localhost:9000/auth/dingtalk/callback   # override for one run':
    {
      code: 0,
      person: {},
      ports: [9000],
      phrase: LOGIN_STORED,
      why: 'DingTalk here has an app dingxxx with that callback registered (and the secret of the environment)',
    },
  'muvee-dingtalk login --emulator --quiet                # only the session token on stdout (for scripts)':
    { code: 0, phrase: /^eyJ[\w-]+\.[\w-]+\.[\w-]+\ndatabase: / },
  "muvee-dingtalk login --db env:DATABASE_URL             # muvee's own PostgreSQL: a dry run (--apply writes; see below)":
    { code: 0, person: {}, ports: CALLBACK_8080, postgres: true, phrase: /dry run/ },
  'muvee-dingtalk login --emulator --use-jwt-secret --db ./team.db   # sign demo users with JWT_SECRET, store them in ./team.db':
    { code: 0, phrase: [/database: \.\/team\.db \(--db\)/, ...stored('./team.db')] },
  "muvee-dingtalk login --show-mobile --rules server      # the mobile unmasked; ALLOWED_DOMAINS as muvee's server applies it":
    { code: 0, person: {}, ports: CALLBACK_8080, phrase: /13800138000|138\d{8}/ },
  'muvee-dingtalk login --verbose                         # each DingTalk request and answer on stderr, secrets and tokens redacted':
    { code: 0, person: {}, ports: CALLBACK_8080, phrase: /userAccessToken/ },

  // ---- README: verify-token --------------------------------------------------------------------
  'muvee-dingtalk verify-token - < token.txt                 # stdin keeps tokens out of shell history':
    { code: 0, users: true, setup: TOKEN, phrase: /✓ valid/ },
  'muvee-dingtalk verify-token "muvee_session=$(cat token.txt); theme=dark"   # a cookie, or a whole Cookie header value':
    { code: 0, users: true, setup: TOKEN, phrase: /✓ valid/ },
  'muvee-dingtalk verify-token --leeway 30 --json - < token.txt': {
    code: 0,
    users: true,
    setup: TOKEN,
    phrase: /"valid": true/,
  },
  'muvee-dingtalk verify-token --each - < tokens.txt         # many tokens: one JSON line each, exit 0 only if all are valid':
    {
      code: 0,
      users: true,
      setup: `${TOKEN} && cat token.txt token.txt > tokens.txt`,
      phrase: [
        /^\{"line":1,"valid":true/m,
        /^\{"line":2,"valid":true/m,
        /2 tokens: 2 valid, 0 rejected/,
      ],
    },
  'muvee-dingtalk verify-token --decode - < token.txt        # no JWT_SECRET: header and claims, UNVERIFIED':
    { code: 0, users: true, setup: TOKEN, env: { JWT_SECRET: null }, phrase: /UNVERIFIED/ },
  'muvee-dingtalk verify-token --muvee https://muvee.example.com - < token.txt   # and what the deployed muvee says':
    {
      code: 0,
      postgres: true,
      deployed: true,
      setup: 'muvee-dingtalk mint-token --email alice@corp.example > token.txt',
      phrase: /deployed muvee: .*accepts this token/,
    },

  // ---- README: mint-token ----------------------------------------------------------------------
  'muvee-dingtalk mint-token --email zhangsan@corp.example            # a user of the local DB': {
    code: 0,
    users: true,
    phrase: /^eyJ/,
  },
  'muvee-dingtalk mint-token --uid 7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a --email a@corp.example --role admin --ttl 1h --cookie':
    { code: 0, phrase: /^muvee_session=eyJ[^;]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax\n/ },

  // ---- README: users ---------------------------------------------------------------------------
  'muvee-dingtalk users list': { code: 0, users: true, phrase: /zhangsan@corp\.example/ },
  'muvee-dingtalk users list --limit 50 --offset 100 --json # a page; rows in creation order (an index)':
    { code: 0, users: true, phrase: /^\{"users": ?\[/ },
  'muvee-dingtalk users show zhangsan@corp.example --json   # or by id': {
    code: 0,
    users: true,
    phrase: /"email": "zhangsan@corp\.example"/,
  },
  "muvee-dingtalk users export --sql > users.sql            # muvee's tables as INSERTs for its PostgreSQL":
    { code: 0, users: true, phrase: /database:/, file: ['users.sql', /INSERT INTO users/] },

  // ---- README: admin ---------------------------------------------------------------------------
  'muvee-dingtalk admin access-mode                     # open (default), invite or request': {
    code: 0,
    users: true,
    phrase: /open/,
  },
  'muvee-dingtalk admin access-mode invite': { code: 0, users: true, phrase: /invite/ },
  'muvee-dingtalk admin invite alice@corp.example       # stored lower-cased and trimmed, as muvee does':
    { code: 0, users: true, phrase: /alice@corp\.example/ },
  'muvee-dingtalk admin uninvite alice@corp.example': {
    code: 0,
    users: true,
    setup: 'muvee-dingtalk admin invite alice@corp.example',
    phrase: /alice@corp\.example/,
  },
  'muvee-dingtalk admin invitations': {
    code: 0,
    users: true,
    setup: 'muvee-dingtalk admin invite alice@corp.example',
    phrase: /alice@corp\.example/,
  },
  'muvee-dingtalk admin approve alice@corp.example      # a pending member (request mode)': {
    code: 0,
    users: true,
    phrase: /alice@corp\.example/,
  },
  "muvee-dingtalk admin override alice@corp.example --name 'Alice L.'   # muvee's profile edit": {
    code: 0,
    users: true,
    phrase: /Alice L\./,
  },
  'muvee-dingtalk admin override alice@corp.example --clear-name --clear-avatar': {
    code: 0,
    users: true,
    phrase: /alice@corp\.example/,
  },

  // ---- README: check-config --------------------------------------------------------------------
  'muvee-dingtalk check-config': { code: 0, phrase: /✓/ },
  'muvee-dingtalk check-config --live --strict --json': {
    code: 0,
    deployed: true,
    postgres: true,
    phrase: /"ok": true/,
    why: "CI checks muvee's production configuration; a local one (http://localhost redirect, no ADMIN_EMAILS) warns, and --strict fails it, on purpose",
  },
  'muvee-dingtalk check-config --live --muvee https://muvee.example.com --db "$DATABASE_URL"   # ask the deployed muvee too':
    { code: 0, postgres: true, deployed: true, phrase: /✓ muvee-session/ },
  'muvee-dingtalk check-config --live --format github     # GitHub Actions annotations (+ $GITHUB_STEP_SUMMARY)':
    { code: 0, phrase: /✓ live/ },
  'muvee-dingtalk check-config --live --format junit > check-config.xml   # JUnit XML for GitLab, Jenkins, ...':
    { code: 0, phrase: /^$/, file: ['check-config.xml', /<testsuites [^>]*failures="0"/] },

  // ---- README: emulator ------------------------------------------------------------------------
  'muvee-dingtalk emulator --port 9900': {
    code: 0,
    ports: [9900],
    interruptOn: /Press Ctrl-C to stop/,
    phrase: [/listening on http:\/\/127\.0\.0\.1:9900\n/, /emulator stopped/],
    why: STOPPED,
  },
  'muvee-dingtalk emulator --port 9900 --users ./users.json --auto-approve amy   # users.json: see "Emulator users" below':
    {
      code: 0,
      ports: [9900],
      files: {
        'users.json':
          '[{"id": "amy", "nick": "Amy", "unionId": "U1", "email": "amy@corp.example", "mobile": "138...", "noProfilePermission": false}]',
      },
      interruptOn: /Press Ctrl-C to stop/,
      phrase: [/Users: amy <amy@corp\.example>/, /Auto-approving as amy/, /emulator stopped/],
      why: `users.json as "Emulator users" shows it; ${STOPPED}`,
    },
  'muvee-dingtalk emulator --fault userAccessToken=503 --fault usersMe=latency:15000': {
    code: 0,
    interruptOn: /Press Ctrl-C to stop/,
    phrase: [/Faults: .*"userAccessToken":\{"status":503/, /"usersMe":\{"latencyMs":15000\}/],
    why: STOPPED,
  },
  'bash scripts/ci-recipe.sh': {
    code: 0,
    phrase: /./,
    skip: 'test/ci-recipe.test.ts runs this very line in the checkout (emulator, login, muvee-oracle: ~20 s)',
  },

  // ---- README: muvee's database ----------------------------------------------------------------
  'muvee-dingtalk login --db env:DATABASE_URL': {
    code: 0,
    person: {},
    ports: CALLBACK_8080,
    postgres: true,
    phrase: /dry run/,
  },
  'muvee-dingtalk login --db env:DATABASE_URL --apply': {
    code: 0,
    person: {},
    ports: CALLBACK_8080,
    postgres: true,
    phrase: /muvee_session/,
  },
  'muvee-dingtalk mint-token --email alice@corp.example --db env:DATABASE_URL': {
    code: 0,
    postgres: true,
    phrase: /^eyJ/,
  },

  // ---- README: development ---------------------------------------------------------------------
  'npm ci               # installs and builds dist/ (the packaged CLI that npx runs)': {
    code: 0,
    phrase: /./,
    skip: NPM_CI,
  },
  'npm run dev -- login --emulator   # the CLI straight from src/ (tsx): no build needed': {
    code: 0,
    checkout: true,
    phrase: EMULATOR_LOGIN_STORED,
  },
  "npm test             # 2–3 min on a shared 2-core machine (163 s measured): builds dist/, then node's test runner with tsx":
    {
      code: 0,
      phrase: /./,
      skip: 'the test suite this test is part of (.ci/run runs it on Node 20, 22 and 24)',
    },
  'npm run test:stress  # callback fuzzing, 8 writers × 200 logins, writers killed mid-write (~30 s)':
    {
      code: 0,
      phrase: /./,
      skip: 'a suite of its own, ~30 s (.ci/run runs it on Node 20, 22 and 24)',
    },
  'npm run bench        # start-up and login ratios against `node -e 0`; names missed targets, exits 0; see bench/RESULTS.md':
    { code: 0, phrase: /./, skip: 'minutes of measurement on an idle machine (bench/RESULTS.md)' },
  'npm run check:types  # tsc --noEmit, strict': {
    code: 0,
    phrase: /./,
    skip: 'a whole-checkout check (~20 s) that .ci/run runs on every change',
  },
  'npm run check:format # prettier': {
    code: 0,
    phrase: /./,
    skip: 'a whole-checkout check that .ci/run runs on every change',
  },
  'scripts/with-node.sh 24 npm test  # the same under Node 24 (22 likewise), fetched from the npm registry':
    { code: 0, phrase: /./, skip: 'the whole suite again on Node 24 (.ci/run runs it)' },

  // ---- --help ----------------------------------------------------------------------------------
  'npx muvee-dingtalk login --emulator': { code: 0, phrase: EMULATOR_LOGIN_STORED },
  'muvee-dingtalk login --emulator': { code: 0, phrase: EMULATOR_LOGIN_STORED },
  'muvee-dingtalk login                      # real DingTalk, with .env filled in': {
    code: 0,
    person: {},
    ports: CALLBACK_8080,
    phrase: LOGIN_STORED,
  },
  'muvee-dingtalk login --no-browser --timeout 600   # headless: open the URL elsewhere, paste the result':
    {
      code: 0,
      person: { paste: true },
      ports: CALLBACK_8080,
      phrase: LOGIN_STORED,
      why: 'the person approves on another machine and pastes the URL the browser landed on',
    },
  'muvee-dingtalk verify-token - < token.txt      # from stdin: keeps the token out of shell history':
    { code: 0, users: true, setup: TOKEN, phrase: /✓ valid/ },
  'muvee-dingtalk verify-token "muvee_session=$(cat token.txt); theme=dark"   # a Cookie header': {
    code: 0,
    users: true,
    setup: TOKEN,
    phrase: /✓ valid/,
  },
  'muvee-dingtalk verify-token --each - < tokens.txt   # one JSON line per token': {
    code: 0,
    users: true,
    setup: `${TOKEN} && cat token.txt token.txt > tokens.txt`,
    phrase: [/^\{"line":1,"valid":true/m, /2 tokens: 2 valid, 0 rejected/],
  },
  'muvee-dingtalk verify-token --decode - < token.txt  # no JWT_SECRET: what it says, UNVERIFIED': {
    code: 0,
    users: true,
    setup: TOKEN,
    env: { JWT_SECRET: null },
    phrase: /UNVERIFIED/,
  },
  'muvee-dingtalk mint-token --email zhangsan@corp.example': {
    code: 0,
    users: true,
    phrase: /^eyJ/,
  },
  'muvee-dingtalk users show zhangsan@corp.example --json': {
    code: 0,
    users: true,
    phrase: /"email": "zhangsan@corp\.example"/,
  },
  'muvee-dingtalk users list --db ./team.db': {
    code: 0,
    setup: 'muvee-dingtalk login --emulator --use-jwt-secret --db ./team.db',
    phrase: [/database: \.\/team\.db \(--db\)/, /^zhangsan@corp\.example/m],
  },
  'muvee-dingtalk users list --limit 50 --offset 100 --json   # the third page of 50': {
    code: 0,
    users: true,
    phrase: /^\{"users": ?\[/,
  },
  'muvee-dingtalk users show zhangsan@corp.example': {
    code: 0,
    users: true,
    phrase: /zhangsan@corp\.example/,
  },
  'muvee-dingtalk users export --sql --db ./muvee-dingtalk.db > users.sql && psql "$DATABASE_URL" -f users.sql':
    {
      code: 0,
      users: true,
      postgres: 'empty',
      phrase: [/overrides DATABASE_URL/, /^COMMIT$/m],
      why: 'into a muvee that has neither user yet (a row muvee already has fails the import, nothing written)',
    },
  'muvee-dingtalk check-config --live --strict --json   # in CI': {
    code: 0,
    deployed: true,
    postgres: true,
    phrase: /"ok": true/,
    why: "CI checks muvee's production configuration; a local one (http://localhost redirect, no ADMIN_EMAILS) warns, and --strict fails it, on purpose",
  },
  'muvee-dingtalk check-config --live --muvee https://muvee.example.com --muvee-user admin@corp.example --db "$DATABASE_URL"':
    { code: 0, postgres: true, deployed: true, phrase: /✓ muvee-session/ },
  'muvee-dingtalk check-config --live --muvee https://muvee.example.com --format github   # GitHub Actions':
    { code: 0, postgres: true, deployed: true, phrase: /✓ muvee-session/ },
  'muvee-dingtalk check-config --live --format junit > check-config.xml   # GitLab CI, Jenkins': {
    code: 0,
    phrase: /^$/,
    file: ['check-config.xml', /<testsuites [^>]*failures="0"/],
  },
  'muvee-dingtalk emulator --port 9900 --auto-approve lisi &   # then, in CI (the demo app):\nuntil curl -sf http://127.0.0.1:9900/__emulator/health >/dev/null; do sleep 0.2; done\nDINGTALK_LOGIN_BASE=http://127.0.0.1:9900 DINGTALK_API_BASE=http://127.0.0.1:9900 \\\nDINGTALK_CLIENT_ID=dingemulatordemoapp1 DINGTALK_CLIENT_SECRET=emulator-demo-secret-not-for-production-use-000000 \\\nJWT_SECRET=$(openssl rand -hex 32) muvee-dingtalk check-config --live':
    { code: 0, ports: [9900], phrase: /✓ live/ },
  'muvee-dingtalk admin invite alice@corp.example': {
    code: 0,
    users: true,
    phrase: /alice@corp\.example/,
  },
  'muvee-dingtalk admin approve alice@corp.example': {
    code: 0,
    users: true,
    phrase: /alice@corp\.example/,
  },
  "muvee-dingtalk admin override alice@corp.example --name 'Alice L.'": {
    code: 0,
    users: true,
    phrase: /Alice L\./,
  },
  'muvee-dingtalk admin access-mode': { code: 0, users: true, phrase: /open/ },
  'muvee-dingtalk admin access-mode request': { code: 0, users: true, phrase: /request/ },
  'muvee-dingtalk admin invitations --json': { code: 0, users: true, phrase: /"invitations"/ },
};
