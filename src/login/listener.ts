/**
 * Where the callback listener binds for a login: a free loopback port registered with the
 * emulator; the redirect URL's own host, port and path when it is loopback (or `--listen`);
 * nowhere when the redirect URL is another machine (the paste fallback then).
 */
import { startCallbackServer, type CallbackServer } from './callback-server.js';
import { CALLBACK_PATH } from '../config/checks.js';
import { isLoopbackHost } from '../config/config.js';
import { CliError } from '../cli/errors.js';
import { block, trusted, type Output } from '../cli/output.js';
import type { Provider } from './provider.js';

const LISTEN = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/;

/** Whether `text` is a `--listen` value: `host:port`, `[v6]:port`, `:port` or `port`. */
export function isListenSpec(text: string): boolean {
  const match = LISTEN.exec(text.trim());
  return match !== null && Number(match[2]) <= 65535;
}

/** `127.0.0.1:8080`, `[::1]:8080`, `localhost:0`, `:8080` or `8080`. */
export function parseListen(text: string): { host: string; port: number } {
  const match = LISTEN.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new CliError('usage', `--listen '${text}' is not host:port; use e.g. 127.0.0.1:8080`);
  }
  return { host: match[1] || '127.0.0.1', port };
}

/** Binds the listener (before any browser opens); a busy port is a `port-busy` error. */
export async function bindListener(input: {
  redirectUrl: string;
  listen: string | undefined;
  provider: Provider;
  state: string;
  out: Output;
  /** Told about every refused request (the login mentions them in the terminal). */
  onRejected?: (status: number, reason: string, path: string) => void;
}): Promise<{ server: CallbackServer | undefined; redirectUrl: string }> {
  const { provider, state, out } = input;
  if (provider.emulator) {
    // A free port each run, registered with the emulator, so runs can go side by side.
    const server = await startCallbackServer({
      host: '127.0.0.1',
      port: 0,
      path: CALLBACK_PATH,
      expectedState: state,
      onRejected: input.onRejected,
    });
    const redirectUrl = `http://127.0.0.1:${server.port}${CALLBACK_PATH}`;
    provider.emulator.registerRedirectUri(redirectUrl);
    return { server, redirectUrl };
  }
  let redirect: URL;
  try {
    redirect = new URL(input.redirectUrl);
  } catch {
    throw new CliError(
      'config',
      `DINGTALK_REDIRECT_URL '${input.redirectUrl}' is not a URL; set it to the callback registered in the DingTalk console`,
    );
  }
  const defaultPort = redirect.protocol === 'https:' ? 443 : 80;
  const target = input.listen
    ? parseListen(input.listen)
    : isLoopbackHost(redirect.hostname)
      ? { host: redirect.hostname, port: Number(redirect.port || defaultPort) }
      : undefined;
  if (!target) {
    out.note(
      out.c.yellow(
        block`DINGTALK_REDIRECT_URL is on '${redirect.hostname}', not this machine, so DingTalk will send the browser there.\n${trusted(
          'When the browser lands on that page (it may fail to load), copy the whole URL from the address bar\n' +
            'and paste it here, then press Enter. (Or use --listen host:port behind a tunnel.)\n' +
            'This works only while muvee is NOT deployed there: a running muvee spends the single-use code\n' +
            'first, and the pasted one is then refused. Register a second redirect URI on localhost in the\n' +
            "DingTalk console and use it for this tool's runs:\n" +
            `  DINGTALK_REDIRECT_URL=http://localhost:8080${CALLBACK_PATH} (or --redirect-url)`,
        )}`,
      ),
    );
    return { server: undefined, redirectUrl: input.redirectUrl };
  }
  if (input.listen && !isLoopbackHost(target.host)) {
    out.warn(
      `listening on ${target.host}, which is not loopback: other machines can reach the callback listener`,
    );
  }
  if (redirect.protocol === 'https:' && !input.listen) {
    throw new CliError(
      'config',
      `DINGTALK_REDIRECT_URL '${input.redirectUrl}' is https on loopback, but the listener speaks plain http; use http://localhost:<port>${CALLBACK_PATH} for local logins`,
    );
  }
  const server = await startCallbackServer({
    ...target,
    path: redirect.pathname,
    expectedState: state,
    onRejected: input.onRejected,
  });
  return { server, redirectUrl: input.redirectUrl };
}
