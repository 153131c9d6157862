/**
 * `emulator`: a local DingTalk for demos and CI, until Ctrl-C.
 */
import type { Context } from '../program.js';
import { CliError } from '../errors.js';
import { parseFaultSpec } from '../emulator/faults.js';
import { startEmulator, type EmulatorClient } from '../emulator/server.js';
import {
  BUILTIN_USERS,
  DEFAULT_USER,
  EMULATOR_CLIENT_ID,
  EMULATOR_CLIENT_SECRET,
  loadUsersFile,
} from '../emulator/users.js';
import { commandConfig } from './shared.js';

export async function run(
  context: Context,
  _args: unknown[],
  options: Record<string, unknown>,
): Promise<number> {
  const { out } = context;
  const config = commandConfig(context);
  const users =
    typeof options.users === 'string' ? loadUsersFile(options.users) : [...BUILTIN_USERS];
  const redirectUris = (options.redirectUri as string[] | undefined) ?? [config.redirectUrl];
  const clientId =
    (options.clientId as string | undefined) ?? config.clientId ?? EMULATOR_CLIENT_ID;
  const clientSecret =
    (options.clientSecret as string | undefined) ??
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
  const faults = Object.fromEntries(
    ((options.fault as string[] | undefined) ?? []).map(parseFaultSpec),
  );
  const autoApprove =
    options.autoApprove === true ? DEFAULT_USER : (options.autoApprove as string | undefined);

  const server = await startEmulator({
    port: options.port as number,
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
    out.line(`DingTalk emulator listening on ${out.c.bold(server.url)}`);
    out.line();
    out.line('Point muvee-dingtalk (or muvee) at it with:');
    out.line(`  DINGTALK_LOGIN_BASE=${server.url}`);
    out.line(`  DINGTALK_API_BASE=${server.url}`);
    out.line(`  DINGTALK_CLIENT_ID=${clientId}`);
    out.line(`  DINGTALK_CLIENT_SECRET=${secretShown}`);
    out.line(`Registered callback(s): ${redirectUris.join(', ')}`);
    out.line(
      `Users: ${users.map((u) => `${u.id}${u.email ? ` <${u.email}>` : ' (no email)'}${u.noProfilePermission ? ' [no profile permission]' : ''}`).join(', ')}`,
    );
    if (autoApprove) out.line(`Auto-approving as ${autoApprove}.`);
    if (Object.keys(faults).length) out.line(`Faults: ${JSON.stringify(faults)}`);
    out.line();
    out.line(
      `Try it: ${server.url}/oauth2/auth?client_id=${clientId}&response_type=code&scope=openid&prompt=consent&state=demo&redirect_uri=${encodeURIComponent(redirectUris[0] ?? '')}`,
    );
    out.line('Press Ctrl-C to stop.');
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  out.note('emulator stopped');
  return 0;
}
