/**
 * The emulated DingTalk users: a built-in set covering each path muvee takes, or a JSON file.
 */
import { readFileSync } from 'node:fs';
import { CliError } from '../cli/errors.js';

export interface EmulatorUser {
  /** Login name on the emulator's page and for `--auto-approve`. */
  id: string;
  nick: string;
  unionId: string;
  openId: string;
  /** Absent or empty: the profile carries no email, so muvee uses the synthetic address. */
  email?: string;
  mobile?: string;
  avatarUrl?: string;
  stateCode?: string;
  /** The app lacks Contact.User.Read for this user: the profile call answers 403. */
  noProfilePermission?: boolean;
}

/** Demo app credentials the emulator accepts unless told others. Not secret: for demos and CI. */
export const EMULATOR_CLIENT_ID = 'dingemulatordemoapp1';
export const EMULATOR_CLIENT_SECRET = 'emulator-demo-secret-not-for-production-use-000000';

export const BUILTIN_USERS: readonly EmulatorUser[] = [
  {
    id: 'zhangsan',
    nick: '张三',
    unionId: 'emuUnionZhangsan0001',
    openId: 'emuOpenZhangsan0001',
    email: 'zhangsan@corp.example',
    mobile: '13800000000',
    avatarUrl: 'https://static.dingtalk.example/avatar/zhangsan.png',
    stateCode: '86',
  },
  {
    id: 'lisi',
    nick: '李四',
    unionId: 'emuUnionLisi00000002',
    openId: 'emuOpenLisi00000002',
    avatarUrl: 'https://static.dingtalk.example/avatar/lisi.png',
    stateCode: '86',
  },
  {
    id: 'wangwu',
    nick: '王五',
    unionId: 'emuUnionWangwu000003',
    openId: 'emuOpenWangwu000003',
    email: 'wangwu@gmail.example',
    mobile: '13900001111',
    stateCode: '86',
  },
  {
    id: 'zhaoliu',
    nick: '赵六',
    unionId: 'emuUnionZhaoliu00004',
    openId: 'emuOpenZhaoliu00004',
    email: 'zhaoliu@corp.example',
    noProfilePermission: true,
  },
];

export const DEFAULT_USER = 'zhangsan';

/** Pure: validates the users of a JSON document (`[...]` or `{ "users": [...] }`). */
export function parseUsers(document: unknown, origin = 'users'): EmulatorUser[] {
  const list = Array.isArray(document) ? document : (document as { users?: unknown } | null)?.users;
  if (!Array.isArray(list) || list.length === 0) {
    throw new CliError(
      'usage',
      `${origin}: expected a non-empty array of users (or { "users": [...] })`,
    );
  }
  const seen = new Set<string>();
  return list.map((entry: unknown, index) => {
    const u = (entry ?? {}) as Record<string, unknown>;
    const where = `${origin}: user #${index + 1}`;
    for (const field of ['nick', 'unionId'] as const) {
      if (typeof u[field] !== 'string' || u[field] === '') {
        throw new CliError('usage', `${where} needs a string '${field}'`);
      }
    }
    for (const field of ['id', 'openId', 'email', 'mobile', 'avatarUrl', 'stateCode'] as const) {
      if (u[field] !== undefined && typeof u[field] !== 'string') {
        throw new CliError('usage', `${where}: '${field}' must be a string`);
      }
    }
    const id = (u.id as string | undefined) ?? (u.unionId as string);
    if (seen.has(id)) throw new CliError('usage', `${where}: id '${id}' is used twice`);
    seen.add(id);
    return {
      ...(u as Partial<EmulatorUser>),
      id,
      nick: u.nick as string,
      unionId: u.unionId as string,
      openId: (u.openId as string | undefined) ?? `open-${u.unionId as string}`,
      noProfilePermission: u.noProfilePermission === true,
    };
  });
}

export function loadUsersFile(path: string): EmulatorUser[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(
      'usage',
      `cannot read users file '${path}' (${(error as NodeJS.ErrnoException).code ?? error}); pass a readable JSON file to --users`,
      { cause: error },
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      'usage',
      `users file '${path}' is not JSON (${(error as Error).message}); see README, "Emulator users"`,
      { cause: error },
    );
  }
  return parseUsers(document, path);
}
