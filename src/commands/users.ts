/**
 * `users list` and `users show <email|id>`: what the local store holds.
 */
import type { Command } from 'commander';
import type { Context } from '../program.js';
import { CliError } from '../errors.js';
import { isUuid } from '../shapes.js';
import { Store, type StoredUser } from '../store.js';
import { commandConfig } from './shared.js';

export async function run(
  context: Context,
  args: unknown[],
  _options: Record<string, unknown>,
  command: Command,
): Promise<void> {
  const { out } = context;
  const config = commandConfig(context);
  const store = Store.openExisting(config.dbPath);
  try {
    if (command.name() === 'show') {
      const key = String(args[0]);
      const user = isUuid(key) ? store?.findById(key) : store?.findByEmail(key);
      if (!store || !user) {
        throw new CliError(
          'usage',
          `no user '${key}' in ${config.dbPath}${store ? '' : ' (no database there yet)'}; 'muvee-dingtalk users list' shows who is there`,
        );
      }
      const unionIds = store.unionIdsOf(user.id);
      if (out.json) return out.document({ ...user, unionIds });
      out.table(
        [
          ['id', user.id],
          ['email', user.email],
          [
            'name',
            `${user.name}${user.nameOverridden ? out.c.dim(' (overridden, not refreshed at login)') : ''}`,
          ],
          [
            'avatar',
            `${user.avatarUrl || '—'}${user.avatarOverridden ? out.c.dim(' (overridden)') : ''}`,
          ],
          ['role', user.role],
          ['created', user.createdAt],
          ['updated', user.updatedAt],
          ['last login', user.lastLoginAt ?? '—'],
          ['unionId', unionIds.join(', ') || '—'],
        ],
        '',
      );
      return;
    }
    const list: StoredUser[] = store?.list() ?? [];
    if (out.json) return out.document({ users: list });
    if (!store) {
      out.note(`no database at ${config.dbPath} yet; 'muvee-dingtalk login' creates it`);
      return;
    }
    if (list.length === 0) {
      out.note(`no users in ${config.dbPath} yet`);
      return;
    }
    out.columns(
      ['EMAIL', 'ROLE', 'NAME', 'LAST LOGIN', 'ID'],
      list.map((u) => [u.email, u.role, u.name, u.lastLoginAt ?? '—', u.id]),
    );
  } finally {
    store?.close();
  }
}
