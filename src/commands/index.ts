/**
 * The one list of commands, in the order `--help` shows them. The program, the build and the
 * tests all read it. Each module is loaded only when its command runs (or for `--help`), so
 * a command loads nothing another one needs. Adding a command: a new file in this folder that
 * exports `command = defineCommand({...})`, plus one line here.
 */
import type { CommandModule } from '../cli/command.js';

export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  login: () => import('./login.js'),
  'verify-token': () => import('./verify-token.js'),
  'mint-token': () => import('./mint-token.js'),
  users: () => import('./users.js'),
  'check-config': () => import('./check-config.js'),
  emulator: () => import('./emulator.js'),
  admin: () => import('./admin.js'),
};
