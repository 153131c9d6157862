/**
 * What a login's PostgreSQL store needs, judged before the listener binds and the browser
 * opens (issue 22): the server answers at the URL's address, takes its credentials, and the
 * database has muvee's tables (schema.ts). A DingTalk code is single-use: found only after the
 * callback, any of these failures would spend it for nothing.
 */
import type { CliError } from '../../cli/errors.js';
import { openPgStore } from './store.js';

/**
 * Connects to muvee's PostgreSQL at `url` and checks its schema (reads only), then closes the
 * connection: the login opens its own when the user is to be stored, minutes later perhaps
 * (a connection held open meanwhile could be closed by the server or a proxy, and would be
 * checked again anyway). A failure is the store's own CliError (`db-unusable`, exit 2, for
 * what the user must fix: address, password, a database that is not muvee's).
 *
 * An abort (Ctrl-C) while connecting to a server that does not answer ends the wait at once
 * with `interrupted()`; the attempt is closed when it settles.
 */
export async function pgPreflight(
  url: string,
  options: { signal?: AbortSignal; interrupted?: () => CliError } = {},
): Promise<void> {
  const { signal, interrupted } = options;
  if (signal?.aborted && interrupted) throw interrupted();
  const opening = openPgStore(url, { maxConnections: 1 });
  if (!signal || !interrupted) return void (await (await opening).close());
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const store = await Promise.race([opening, aborted]);
    await store.close();
  } catch (error) {
    // Aborted while connecting: whatever the attempt gives is closed (or its error dropped).
    opening.then((store) => store.close()).catch(() => {});
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
