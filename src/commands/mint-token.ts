/**
 * `mint-token`: sign a session token exactly as muvee does, for a stored user (`--email`) or
 * for explicit claims (`--uid --email --role`). stdout holds only the token (or cookie), so
 * `$(muvee-dingtalk mint-token ...)` works.
 */
import {
  commandConfig,
  defineCommand,
  option,
  type Context,
  type OptionValues,
} from '../cli/command.js';
import { jwtSecretCheck } from '../config/checks.js';
import { jwtSecretWhitespace, requireJwtSecret } from '../config/config.js';
import { CliError } from '../cli/errors.js';
import { humanDuration, humanTime, line, trusted } from '../cli/output.js';
import { mintSessionToken, parseTtl, sessionCookie } from '../muvee/session.js';
import type { Role } from '../muvee/model.js';
import { isEmail, isUuid } from '../muvee/shapes.js';

const options = {
  email: option.string(
    '--email <email>',
    'the user (looked up in the local database unless --uid is given)',
  ),
  uid: option.string('--uid <uuid>', 'explicit user id (claims are then taken from the flags)'),
  role: option.choice('--role <role>', 'explicit role', ['admin', 'member'] as const),
  ttl: option.stringWithDefault(
    '--ttl <duration>',
    'lifetime: 7d, 12h, 30m or seconds (at most 3650d)',
    '7d',
  ),
  cookie: option.flag('--cookie', 'print the whole muvee_session Set-Cookie value'),
};

export const command = defineCommand({
  name: 'mint-token',
  summary: 'sign a muvee session token for a stored user (--email) or explicit claims',
  options,
  examples: [
    'muvee-dingtalk mint-token --email zhangsan@corp.example',
    'muvee-dingtalk mint-token --uid 7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a --email a@corp.example --role admin --ttl 1h --cookie',
  ],
  run,
});

async function run(
  context: Context,
  _args: string[],
  flags: OptionValues<typeof options>,
): Promise<void> {
  const { out } = context;
  const config = commandConfig(context);
  const secret = requireJwtSecret(config);
  const whitespace = jwtSecretWhitespace(config);
  if (whitespace) out.warn(whitespace);
  const ttl = parseTtl(flags.ttl);
  const { email, uid: uidFlag, role: roleFlag } = flags;

  let subject: { uid: string; email: string; role: Role };
  if (uidFlag !== undefined) {
    if (!isUuid(uidFlag))
      throw new CliError(
        'usage',
        `--uid '${uidFlag}' is not a UUID; muvee user ids look like 7d0f8a4e-8a53-4a8e-9f3c-1f2e3d4c5b6a`,
      );
    if (!email || !isEmail(email))
      throw new CliError(
        'usage',
        `--uid needs --email <address>${email ? ` ('${email}' is not one)` : ''}`,
      );
    if (!roleFlag) throw new CliError('usage', '--uid needs --role admin|member');
    subject = { uid: uidFlag, email, role: roleFlag };
  } else if (email !== undefined) {
    // The local store, or muvee's PostgreSQL (then the uid and role are muvee's own).
    const { openExistingUserStore } = await import('../store/index.js');
    const store = await openExistingUserStore(config.dbFile, {
      readOnly: true,
      warn: (w) => out.warn(w),
    });
    let user;
    try {
      user = await store?.findByEmail(email);
    } finally {
      await store?.close();
    }
    if (!user) {
      throw new CliError(
        'usage',
        `no user '${email}' in ${config.dbPath}${store ? '' : ' (no database there yet)'}; log in first with 'muvee-dingtalk login', or give explicit claims with --uid, --email and --role`,
      );
    }
    if (roleFlag && roleFlag !== user.role)
      out.warn(`the stored role is ${user.role}; signing role ${roleFlag} as asked`);
    if (!user.authorized)
      out.warn(
        `${user.email} is not let in by muvee (${user.member ? 'pending approval' : 'no platform membership'}): muvee refuses this session until an admin approves`,
      );
    subject = { uid: user.id, email: user.email, role: roleFlag ?? user.role };
  } else {
    throw new CliError(
      'usage',
      "say whose token: --email <address> of a stored user, or --uid, --email and --role; see 'muvee-dingtalk mint-token --help'",
    );
  }

  // The same judgement as check-config's, as a warning: minting with a weak secret is allowed.
  const secretCheck = jwtSecretCheck(secret);
  if (secretCheck.status !== 'pass') out.warn(secretCheck.message);

  const { token, claims } = mintSessionToken(subject, secret, { ttlSeconds: ttl });
  const cookie = sessionCookie(token, ttl);
  if (out.json) {
    out.document({
      token,
      ...(flags.cookie ? { cookie } : {}),
      claims,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
    });
    return;
  }
  out.note(
    out.c.dim(
      line`signed for ${claims.email} (${claims.role}, uid ${claims.uid}), expires ${humanTime(claims.exp)}, in ${humanDuration(ttl)}`,
    ),
  );
  // The token (or cookie) this run signed: base64url and fixed text only.
  out.line(trusted(flags.cookie ? cookie : token));
}
