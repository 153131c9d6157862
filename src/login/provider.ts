/**
 * Who plays DingTalk for a login: the real one (the configured bases and app credentials), or
 * the emulator started in this process with its demo app. And which secret signs the session.
 */
import { randomBytes } from 'node:crypto';
import { requireClientCredentials, requireJwtSecret, type Config } from '../config/config.js';
import type { Credentials } from '../dingtalk/client.js';
import type { Emulator } from '../emulator/server.js';
import { CliError } from '../cli/errors.js';

/** Where DingTalk lives for this run, and with which app credentials. */
export interface Provider {
  loginBase: string;
  apiBase: string;
  credentials: Credentials;
  /** The in-process emulator (its callback is registered there); undefined for real DingTalk. */
  emulator: Emulator | undefined;
  /** Emulated user the tool approves as itself (no browser). */
  autoApprove: string | undefined;
}

/**
 * The provider `login`'s flags ask for. With `--emulator` this starts the emulator: whoever
 * calls it closes `provider.emulator`.
 */
export async function chooseProvider(
  config: Config,
  flags: {
    emulator: boolean | undefined;
    autoApprove: string | true | undefined;
    browser: boolean;
  },
): Promise<Provider> {
  if (!flags.emulator) {
    if (flags.autoApprove !== undefined) {
      throw new CliError(
        'usage',
        '--auto-approve only works with --emulator (real DingTalk needs a person to approve)',
      );
    }
    return {
      loginBase: config.loginBase,
      apiBase: config.apiBase,
      credentials: requireClientCredentials(config),
      emulator: undefined,
      autoApprove: undefined,
    };
  }
  const [{ startEmulator }, users] = await Promise.all([
    import('../emulator/server.js'),
    import('../emulator/users.js'),
  ]);
  // No browser can open (CI, no display): approve the default user ourselves, so
  // `login --emulator` completes unattended. --no-browser means someone else opens the URL.
  const cannotOpen = config.runtime.ci || !config.runtime.hasDisplay;
  const autoApprove =
    flags.autoApprove === true
      ? users.DEFAULT_USER
      : typeof flags.autoApprove === 'string'
        ? flags.autoApprove
        : flags.browser && cannotOpen
          ? users.DEFAULT_USER
          : undefined;
  const emulator = await startEmulator({ autoApprove });
  return emulatorProvider(emulator, autoApprove, {
    clientId: users.EMULATOR_CLIENT_ID,
    clientSecret: users.EMULATOR_CLIENT_SECRET,
  });
}

/** A running emulator as the provider (its demo app unless told otherwise). */
export function emulatorProvider(
  emulator: Emulator,
  autoApprove: string | undefined,
  credentials: Credentials,
): Provider {
  return { loginBase: emulator.url, apiBase: emulator.url, credentials, emulator, autoApprove };
}

/**
 * The secret that signs the session: JWT_SECRET (required for real DingTalk); with the
 * emulator and no JWT_SECRET, a random one for this run (`demo`: muvee will not accept it).
 */
/**
 * The secret that signs the session. An emulator run signs its demo users with a random
 * per-run secret even when JWT_SECRET is set (a demo user must not get a session the real
 * muvee accepts), unless the run asks for JWT_SECRET by name (`--use-jwt-secret`).
 */
export function sessionSecret(
  config: Config,
  provider: Provider,
  useJwtSecret = false,
): { secret: string; demo: boolean } {
  if (!provider.emulator || useJwtSecret) return { secret: requireJwtSecret(config), demo: false };
  return { secret: randomBytes(32).toString('hex'), demo: true };
}
