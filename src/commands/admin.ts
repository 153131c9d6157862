/**
 * `admin`: what an admin sets in muvee's UI, on the local store: the access mode, invitations,
 * approving a pending member, and a user's name/avatar override (muvee's profile edit).
 */
import { commandConfig, defineCommand, option, type Context } from '../command.js';
import { CliError } from '../errors.js';
import { ACCESS_MODES, invitationKey, type AccessMode } from '../muvee-rules.js';
import { isUuid } from '../shapes.js';
import type { Store, StoredUser } from '../store.js';

/** Runs `fn` on the store; without a database file, `missing()` answers (or a usage error). */
async function withStore<T>(
  context: Context,
  create: boolean,
  fn: (store: Store, where: string) => T,
  missing?: () => T,
): Promise<T> {
  const config = commandConfig(context);
  const { Store } = await import('../store.js');
  const store = create ? Store.open(config.dbFile) : Store.openExisting(config.dbFile);
  if (!store && missing) return missing();
  if (!store) {
    throw new CliError(
      'usage',
      `no database at ${config.dbPath} yet; 'muvee-dingtalk login' creates it (or pass --db)`,
    );
  }
  try {
    return fn(store, config.dbPath);
  } finally {
    store.close();
  }
}

function userOf(store: Store, key: string, where: string): StoredUser {
  const user = isUuid(key) ? store.findById(key) : store.findByEmail(key);
  if (!user) {
    throw new CliError(
      'usage',
      `no user '${key}' in ${where}; 'muvee-dingtalk users list' shows who is there`,
    );
  }
  return user;
}

function say(context: Context, document: Record<string, unknown>, text: string): void {
  if (context.out.json) context.out.document(document);
  else context.out.line(text);
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
      examples: ['muvee-dingtalk admin access-mode', 'muvee-dingtalk admin access-mode request'],
      notes: `    open: anyone DingTalk signs in gets in. invite: only invited emails (and existing
    members, and ADMIN_EMAILS). request: new members wait until an admin approves them.`,
      run: async (context, [mode]) => {
        if (mode === undefined) {
          const current = await withStore(
            context,
            false,
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
        await withStore(context, true, (store) => store.setAccessMode(mode as AccessMode));
        say(context, { accessMode: mode }, `access mode set to ${mode}`);
      },
    }),
    defineCommand({
      name: 'invite',
      summary: 'invite an email (stored lower-cased and trimmed, as muvee does)',
      arguments: [{ name: '<email>', description: 'the email to invite' }],
      examples: ['muvee-dingtalk admin invite alice@corp.example'],
      run: async (context, [email]) => {
        const added = await withStore(context, true, (store) => store.invite(email!));
        const key = invitationKey(email!);
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
      examples: ['muvee-dingtalk admin uninvite alice@corp.example'],
      run: async (context, [email]) => {
        const removed = await withStore(context, false, (store) => store.uninvite(email!));
        const key = invitationKey(email!);
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
          false,
          (store) => store.invitations(),
          () => [],
        );
        if (context.out.json) return context.out.document({ invitations: list });
        if (list.length === 0) return context.out.note('no invitations');
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
      examples: ['muvee-dingtalk admin approve alice@corp.example'],
      run: async (context, [key]) => {
        const { user, changed } = await withStore(context, false, (store, where) => {
          const found = userOf(store, key!, where);
          const changed = store.approve(found.id);
          return { user: store.findById(found.id)!, changed };
        });
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
        const user = await withStore(context, false, (store, where) => {
          const found = userOf(store, key!, where);
          if (options.name !== undefined) store.setOverride(found.id, 'name', options.name);
          if (options.clearName) store.setOverride(found.id, 'name', undefined);
          if (options.avatar !== undefined) store.setOverride(found.id, 'avatar', options.avatar);
          if (options.clearAvatar) store.setOverride(found.id, 'avatar', undefined);
          return store.findById(found.id)!;
        });
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
