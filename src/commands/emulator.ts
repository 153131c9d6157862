/**
 * `emulator`: a local DingTalk for demos and CI, until Ctrl-C.
 */
import { joinSafe, line } from '../cli/output.js';
import {
  commandConfig,
  defineCommand,
  option,
  type Context,
  type OptionValues,
} from '../cli/command.js';
import { readFileSync } from 'node:fs';
import { CliError } from '../cli/errors.js';
import { parseFaultSpec } from '../emulator/faults.js';
import { startEmulator, type EmulatorClient } from '../emulator/server.js';
import {
  BUILTIN_USERS,
  DEFAULT_USER,
  EMULATOR_CLIENT_ID,
  EMULATOR_CLIENT_SECRET,
  loadUsersFile,
} from '../emulator/users.js';

const options = {
  port: option.port('--port <port>', 'port on 127.0.0.1 (0: any free port)', 0),
  users: option.string(
    '--users <file>',
    'emulated users from a JSON file (default: the built-in set)',
  ),
  autoApprove: option.optionalValue(
    '--auto-approve [user]',
    'approve at once as this user instead of showing the login page',
  ),
  clientId: option.string(
    '--client-id <appkey>',
    'the AppKey it accepts (default: DINGTALK_CLIENT_ID, else the demo app)',
  ),
  clientSecret: option.string(
    '--client-secret <secret>',
    'discouraged: the process list shows it; prefer DINGTALK_CLIENT_SECRET or --client-secret-file',
  ),
  clientSecretFile: option.string(
    '--client-secret-file <path>',
    'read the AppSecret it accepts from this file (default: DINGTALK_CLIENT_SECRET, else the demo secret)',
  ),
  redirectUri: option.list(
    '--redirect-uri <url>',
    'a registered callback (repeatable; default: DINGTALK_REDIRECT_URL)',
  ),
  fault: option.list(
    '--fault <endpoint=spec>',
    'inject a fault, e.g. userAccessToken=500, usersMe=html, accessToken=latency:15000 (repeatable)',
  ),
};

export const command = defineCommand({
  name: 'emulator',
  summary: 'run a local DingTalk (login page and API) for demos and CI',
  options,
  examples: [
    'muvee-dingtalk emulator --port 9900',
    'muvee-dingtalk emulator --port 9900 --auto-approve lisi &   # then, in CI:\n' +
      '    DINGTALK_API_BASE=http://127.0.0.1:9900 muvee-dingtalk check-config --live',
  ],
  run,
});

async function run(
  context: Context,
  _args: string[],
  flags: OptionValues<typeof options>,
): Promise<number> {
  const { out } = context;
  const config = commandConfig(context);
  const users = flags.users !== undefined ? loadUsersFile(flags.users) : [...BUILTIN_USERS];
  const redirectUris = flags.redirectUri ?? [config.redirectUrl];
  const clientId = flags.clientId ?? config.clientId ?? EMULATOR_CLIENT_ID;
  if (flags.clientSecret !== undefined)
    out.warn(
      '--client-secret puts the AppSecret in the process list (/proc/<pid>/cmdline) for every local user to read; use DINGTALK_CLIENT_SECRET or --client-secret-file',
    );
  const clientSecret =
    flags.clientSecret ??
    (flags.clientSecretFile !== undefined ? readSecretFile(flags.clientSecretFile) : undefined) ??
    (clientId === EMULATOR_CLIENT_ID ? EMULATOR_CLIENT_SECRET : config.clientSecret);
  if (!clientSecret) {
    throw new CliError(
      'usage',
      `the emulator needs the AppSecret for '${clientId}'; set DINGTALK_CLIENT_SECRET or pass --client-secret`,
    );
  }
  const clients: EmulatorClient[] = [{ clientId, clientSecret, redirectUris }];
  if (clientId !== EMULATOR_CLIENT_ID) {
    clients.push({
      clientId: EMULATOR_CLIENT_ID,
      clientSecret: EMULATOR_CLIENT_SECRET,
      redirectUris: [...redirectUris],
    });
  }
  const faults = Object.fromEntries((flags.fault ?? []).map(parseFaultSpec));
  const autoApprove = flags.autoApprove === true ? DEFAULT_USER : flags.autoApprove;

  const server = await startEmulator({
    port: flags.port,
    users,
    clients,
    autoApprove,
    faults,
  });
  const secretShown =
    clientSecret === EMULATOR_CLIENT_SECRET
      ? clientSecret
      : `(your DINGTALK_CLIENT_SECRET, ${clientSecret.length} chars)`;
  if (out.json) {
    out.document({
      url: server.url,
      clientId,
      redirectUris,
      users: users.map((u) => u.id),
      autoApprove: autoApprove ?? null,
      faults,
    });
  } else {
    out.line(line`DingTalk emulator listening on ${out.c.bold(server.url)}`);
    out.line();
    out.line(line`Point muvee-dingtalk (or muvee) at it with:`);
    out.line(line`  DINGTALK_LOGIN_BASE=${server.url}`);
    out.line(line`  DINGTALK_API_BASE=${server.url}`);
    out.line(line`  DINGTALK_CLIENT_ID=${clientId}`);
    out.line(line`  DINGTALK_CLIENT_SECRET=${secretShown}`);
    out.line(line`Registered callback(s): ${redirectUris.join(', ')}`);
    out.line(
      line`Users: ${joinSafe(
        users.map(
          (u) =>
            line`${u.id}${u.email ? line` <${u.email}>` : ' (no email)'}${u.noProfilePermission ? ' [no profile permission]' : ''}`,
        ),
        ', ',
      )}`,
    );
    if (autoApprove) out.line(line`Auto-approving as ${autoApprove}.`);
    if (Object.keys(faults).length) out.line(line`Faults: ${JSON.stringify(faults)}`);
    out.line();
    out.line(
      line`Try it: ${server.url}/oauth2/auth?client_id=${encodeURIComponent(clientId)}&response_type=code&scope=openid&prompt=consent&state=demo&redirect_uri=${encodeURIComponent(redirectUris[0] ?? '')}`,
    );
    out.line(line`Press Ctrl-C to stop.`);
  }
  const { signal } = context.io;
  if (!signal.aborted)
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await server.close();
  out.note(line`emulator stopped`);
  return 0;
}

/** The first line of a secret file; a usage error naming the path (never the content). */
function readSecretFile(path: string): string {
  try {
    const secret = readFileSync(path, 'utf8').split(/\r?\n/)[0]!.trim();
    if (secret === '') throw new CliError('usage', `--client-secret-file '${path}' is empty`);
    return secret;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      'usage',
      `--client-secret-file '${path}' cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
