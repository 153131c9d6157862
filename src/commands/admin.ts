/**
 * `admin`: what an admin sets in muvee's UI, on the local store: the access mode, invitations,
 * approving a pending member, and a user's name/avatar override (muvee's profile edit).
 */
import { line, safeValue } from '../cli/output.js';
import { commandConfig, defineCommand, option, type Context } from '../cli/command.js';
import { CliError } from '../cli/errors.js';
import { invitationKey } from '../muvee/membership.js';
import { isUuid } from '../muvee/shapes.js';
import type { UserStore } from '../store/index.js';
import { ACCESS_MODES, type AccessMode, type StoredUser } from '../muvee/model.js';

/**
 * How a subcommand opens the store: `read` only reads (the local file read-only, never
 * migrated, its journal mode left as it is: issue 20 L8); `write` and `create` write, after
 * login's judgement of the path (issue 20 L1), `create` making the file when missing.
 */
type Access = 'read' | 'write' | 'create';

/**
 * Runs `fn` on the store: the local SQLite file, or muvee's PostgreSQL. Without a database
 * file, `missing()` answers (or a usage error). What the file deserves a look for is warned.
 */
async function withStore<T>(
  context: Context,
  access: Access,
  fn: (store: UserStore, where: string, postgres: boolean) => Promise<T>,
  missing?: () => T,
): Promise<T> {
  const config = commandConfig(context);
  const { openExistingUserStore, openStoreToWrite } = await import('../store/index.js');
  const warn = (message: string) => context.out.warn(message);
  const store =
    access === 'read'
      ? await openExistingUserStore(config.dbFile, { readOnly: true, warn })
      : await openStoreToWrite(config.dbFile, { create: access === 'create', warn });
  if (!store && missing) return missing();
  if (!store) {
    throw new CliError(
      'usage',
      `no database at ${config.dbPath} yet; 'muvee-dingtalk login' creates it (or pass --db)`,
    );
  }
  try {
    return await fn(store, config.dbPath, store.kind === 'postgres');
  } finally {
    await store.close();
  }
}

/**
 * On muvee's PostgreSQL a write needs `--apply`; without it, say what would change and write
 * nothing. Returns whether to write.
 */
function mayWrite(
  context: Context,
  postgres: boolean,
  apply: boolean | undefined,
  what: string,
): boolean {
  if (!postgres || apply) return true;
  say(
    context,
    { dryRun: true, wouldChange: what },
    `dry run on muvee's database: would ${what}; --apply writes it`,
  );
  return false;
}

async function userOf(store: UserStore, key: string, where: string): Promise<StoredUser> {
  const user = isUuid(key) ? await store.findById(key) : await store.findByEmail(key);
  if (!user) {
    throw new CliError(
      'usage',
      `no user '${key}' in ${where}; 'muvee-dingtalk users list' shows who is there`,
    );
  }
  return user;
}

/** The JSON document, or one line whose text (stored names and emails) is sanitised. */
function say(context: Context, document: Record<string, unknown>, text: string): void {
  if (context.out.json) context.out.document(document);
  else context.out.line(safeValue(text));
}

export const command = defineCommand({
  name: 'admin',
  summary: "set what muvee's admin UI sets: access mode, invitations, approvals, overrides",
  examples: [
    'muvee-dingtalk admin access-mode invite',
    'muvee-dingtalk admin invite alice@corp.example',
    'muvee-dingtalk admin approve alice@corp.example',
    "muvee-dingtalk admin override alice@corp.example --name 'Alice L.'",
  ],
  subcommands: [
    defineCommand({
      name: 'access-mode',
      summary: 'show the access mode, or set it: open, invite or request',
      arguments: [{ name: '[mode]', description: 'open | invite | request' }],
      options: {
        apply: option.flag(
          '--apply',
          "on muvee's PostgreSQL: write it (default there: say what would change)",
        ),
      },
      examples: ['muvee-dingtalk admin access-mode', 'muvee-dingtalk admin access-mode request'],
      notes: `    open: anyone DingTalk signs in gets in. invite: only invited emails (and existing
    members, and ADMIN_EMAILS). request: new members wait until an admin approves them.`,
      run: async (context, [mode], options) => {
        if (mode === undefined) {
          const current = await withStore(
            context,
            'read',
            (store) => store.accessMode(),
            () => 'open' as AccessMode,
          );
          return say(context, { accessMode: current }, current);
        }
        if (!ACCESS_MODES.includes(mode as AccessMode)) {
          throw new CliError(
            'usage',
            `access mode '${mode}' is not one of ${ACCESS_MODES.join(', ')}`,
          );
        }
        const written = await withStore(context, 'create', async (store, _where, postgres) => {
          const now = await store.accessMode();
          if (!mayWrite(context, postgres, options.apply, `set access_mode from ${now} to ${mode}`))
            return false;
          await store.setAccessMode(mode as AccessMode);
          return true;
        });
        if (written) say(context, { accessMode: mode }, `access mode set to ${mode}`);
      },
    }),
    defineCommand({
      name: 'invite',
      summary: 'invite an email (stored lower-cased and trimmed, as muvee does)',
      arguments: [{ name: '<email>', description: 'the email to invite' }],
      options: {
        apply: option.flag(
          '--apply',
          "on muvee's PostgreSQL: write it (default there: say what would change)",
        ),
      },
      examples: ['muvee-dingtalk admin invite alice@corp.example'],
      run: async (context, [email], options) => {
        const key = invitationKey(email!);
        const added = await withStore(context, 'create', async (store, _where, postgres) =>
          mayWrite(context, postgres, options.apply, `invite ${key}`) ? store.invite(email!) : null,
        );
        if (added === null) return;
        say(
          context,
          { email: key, invited: true, changed: added },
          added ? `invited ${key}` : `${key} was invited already`,
        );
      },
    }),
    defineCommand({
      name: 'uninvite',
      summary: 'withdraw an invitation',
      arguments: [{ name: '<email>', description: 'the invited email' }],
      options: {
        apply: option.flag(
          '--apply',
          "on muvee's PostgreSQL: write it (default there: say what would change)",
        ),
      },
      examples: ['muvee-dingtalk admin uninvite alice@corp.example'],
      run: async (context, [email], options) => {
        const key = invitationKey(email!);
        const removed = await withStore(context, 'write', async (store, _where, postgres) =>
          mayWrite(context, postgres, options.apply, `withdraw the invitation of ${key}`)
            ? store.uninvite(email!)
            : null,
        );
        if (removed === null) return;
        say(
          context,
          { email: key, invited: false, changed: removed },
          removed ? `invitation of ${key} withdrawn` : `${key} was not invited`,
        );
      },
    }),
    defineCommand({
      name: 'invitations',
      summary: 'list the invited emails',
      examples: ['muvee-dingtalk admin invitations --json'],
      run: async (context) => {
        const list = await withStore(
          context,
          'read',
          (store) => store.invitations(),
          () => [],
        );
        if (context.out.json) return context.out.document({ invitations: list });
        if (list.length === 0) return context.out.note(line`no invitations`);
        context.out.columns(
          ['EMAIL', 'INVITED'],
          list.map((i) => [i.email, i.createdAt]),
        );
      },
    }),
    defineCommand({
      name: 'approve',
      summary: 'let a pending member in (request mode)',
      arguments: [{ name: '<email-or-id>', description: 'the user' }],
      options: {
        apply: option.flag(
          '--apply',
          "on muvee's PostgreSQL: write it (default there: say what would change)",
        ),
      },
      examples: ['muvee-dingtalk admin approve alice@corp.example'],
      run: async (context, [key], options) => {
        const result = await withStore(context, 'write', async (store, where, postgres) => {
          const found = await userOf(store, key!, where);
          if (!mayWrite(context, postgres, options.apply, `approve ${found.email}`)) return null;
          const changed = await store.approve(found.id);
          return { user: (await store.findById(found.id))!, changed };
        });
        if (!result) return;
        const { user, changed } = result;
        say(
          context,
          { id: user.id, email: user.email, authorized: user.authorized, changed },
          changed ? `approved ${user.email}` : `${user.email} was authorized already`,
        );
      },
    }),
    defineCommand({
      name: 'override',
      summary: "set or clear a user's own name/avatar (muvee's profile edit; logins keep it)",
      arguments: [{ name: '<email-or-id>', description: 'the user' }],
      options: {
        name: option.string('--name <name>', 'set the name and mark it overridden'),
        avatar: option.string('--avatar <url>', 'set the avatar URL and mark it overridden'),
        clearName: option.flag('--clear-name', 'the next login refreshes the name from DingTalk'),
        apply: option.flag(
          '--apply',
          "on muvee's PostgreSQL: write it (default there: say what would change)",
        ),
        clearAvatar: option.flag(
          '--clear-avatar',
          'the next login refreshes the avatar from DingTalk',
        ),
      },
      examples: [
        "muvee-dingtalk admin override alice@corp.example --name 'Alice L.'",
        'muvee-dingtalk admin override alice@corp.example --clear-name --clear-avatar',
      ],
      run: async (context, [key], options) => {
        if (
          options.name === undefined &&
          options.avatar === undefined &&
          !options.clearName &&
          !options.clearAvatar
        ) {
          throw new CliError(
            'usage',
            'say what to change: --name, --avatar, --clear-name or --clear-avatar',
          );
        }
        if (
          (options.name !== undefined && options.clearName) ||
          (options.avatar !== undefined && options.clearAvatar)
        )
          throw new CliError('usage', 'set a value or clear it, not both');
        const user = await withStore(context, 'write', async (store, where, postgres) => {
          const found = await userOf(store, key!, where);
          if (
            !mayWrite(
              context,
              postgres,
              options.apply,
              `change the name/avatar override of ${found.email}`,
            )
          )
            return null;
          if (options.name !== undefined) await store.setOverride(found.id, 'name', options.name);
          if (options.clearName) await store.setOverride(found.id, 'name', undefined);
          if (options.avatar !== undefined)
            await store.setOverride(found.id, 'avatar', options.avatar);
          if (options.clearAvatar) await store.setOverride(found.id, 'avatar', undefined);
          return (await store.findById(found.id))!;
        });
        if (!user) return;
        say(
          context,
          {
            id: user.id,
            email: user.email,
            name: user.name,
            nameOverridden: user.nameOverridden,
            avatarUrl: user.avatarUrl,
            avatarOverridden: user.avatarOverridden,
          },
          `${user.email}: name '${user.name}'${user.nameOverridden ? ' (overridden)' : ''}, avatar ${user.avatarUrl || '—'}${user.avatarOverridden ? ' (overridden)' : ''}`,
        );
      },
    }),
  ],
});
