/**
 * check-config's look at the database, kept light (check-config loads nothing else of the
 * store): a SQLite path judged on disk; muvee's PostgreSQL is checked when it connects.
 */
import type { DbProbe } from '../config/checks.js';
import { isPostgresUrl } from '../config/db-target.js';
import { judgeDbPath } from './sqlite/path-check.js';

/**
 * check-config's look at the database: a SQLite path judged on disk (can it be written, or
 * created in its folder? warnings too); muvee's PostgreSQL is checked when it connects.
 */
export function probeDb(db: string): DbProbe & { warnings: string[]; fix: string | undefined } {
  if (isPostgresUrl(db))
    return { kind: 'postgres', exists: true, problem: undefined, warnings: [], fix: undefined };
  const judged = judgeDbPath(db);
  return {
    kind: 'sqlite',
    exists: judged.exists,
    problem: judged.problem,
    fix: judged.fix,
    warnings: judged.warnings,
  };
}
