/**
 * What a login's SQLite store needs, judged before the browser opens (issue 22): the native
 * driver loads on this Node, and an existing file is a database SQLite can read.
 */
import { existsSync } from 'node:fs';
import { CliError } from '../../cli/errors.js';
import { safe } from '../../cli/sanitize.js';

/**
 * What the SQLite store needs, checked before the browser opens (so a DingTalk code is never
 * spent on a login that cannot be stored): the native driver loads on this Node, and an
 * existing file is a database SQLite can read (a corrupt file is `db-unusable`, exit 2). The
 * driver is loaded here rather than later, so this costs a login nothing.
 */
export async function sqlitePreflight(dbFile: string, dbPath: string): Promise<void> {
  const { Database, BINDING } = await import('./binding.js');
  const exists = existsSync(dbFile);
  let probe: InstanceType<typeof Database> | undefined;
  try {
    probe = exists
      ? new Database(dbFile, { readonly: true, fileMustExist: true, ...BINDING })
      : new Database(':memory:', BINDING);
    probe.pragma('schema_version');
  } catch (error) {
    if (!exists || !/not a database|malformed|corrupt/i.test(String(error))) throw error;
    throw new CliError(
      'db-unusable',
      `the database '${safe(dbPath)}' is not a SQLite database this tool can read (${safe(error instanceof Error ? error.message : String(error))}); move it away or pass --db another file. Nothing was sent to DingTalk`,
      { cause: error },
    );
  } finally {
    probe?.close();
  }
}
