/**
 * `check-config`: one line per check, the fix in each message; `--live` asks DingTalk to
 * validate the app credentials; `--strict` makes warnings fail. Exit 0 or 7.
 */
import { line } from '../cli/output.js';
import {
  commandConfig,
  defineCommand,
  httpTimeoutOption,
  option,
  type Context,
} from '../cli/command.js';
import { runStaticChecks, type Check, type DbProbe } from '../config/checks.js';
import type { Config } from '../config/config.js';
import { judgeDbPath } from '../store/sqlite/path-check.js';
import type { Tracer } from '../dingtalk/trace.js';
import { isCliError } from '../cli/errors.js';
import { safe } from '../cli/sanitize.js';

export const command = defineCommand({
  name: 'check-config',
  summary: 'validate the configuration, one line per check (CI smoke test)',
  options: {
    live: option.flag('--live', 'also ask DingTalk whether DINGTALK_CLIENT_ID/SECRET are valid'),
    httpTimeout: httpTimeoutOption,
    strict: option.flag('--strict', 'warnings fail too'),
    verbose: option.flag(
      '--verbose',
      "with --live: print DingTalk's request and answer on stderr (secret and token redacted)",
    ),
  },
  examples: [
    'muvee-dingtalk check-config',
    'muvee-dingtalk check-config --live --strict --json   # in CI',
  ],
  run,
});

async function run(
  context: Context,
  _args: string[],
  options: { live?: boolean; httpTimeout: number; strict?: boolean; verbose?: boolean },
): Promise<number> {
  const { out } = context;
  const config = commandConfig(context, { tolerateEnvFile: true });
  const db = config.dbIsPostgres
    ? { exists: true, problem: undefined, warnings: [], fix: undefined }
    : probeDb(config.dbFile);
  const checks = runStaticChecks(config, db);
  // A usable file that others can read or write, or a link: the db-path check warns.
  const dbCheck = checks.find((check) => check.id === 'db-path');
  if (dbCheck && dbCheck.status === 'pass' && db.warnings.length > 0)
    Object.assign(dbCheck, { status: 'warn', message: db.warnings.join('; ') });
  if (options.verbose && !options.live)
    out.warn('--verbose shows DingTalk calls; without --live there are none');
  if (options.live) {
    const trace = options.verbose
      ? (await import('../dingtalk/trace.js')).verboseTracer(out)
      : undefined;
    checks.push(
      await liveCheck(config, options.httpTimeout * 1000, context.io.beforeFirstRequest, trace),
    );
  }

  const strict = Boolean(options.strict);
  const ok = checks.every(
    (check) => check.status === 'pass' || (check.status === 'warn' && !strict),
  );
  if (out.json) {
    out.document({ ok, checks });
  } else {
    const { c } = out;
    const mark = { pass: c.green('✓'), warn: c.yellow('⚠'), fail: c.red('✗') };
    const width = Math.max(...checks.map((check) => check.id.length));
    for (const check of checks)
      out.line(
        line`${mark[check.status]} ${c.dim(check.id.padEnd(width))}  ${safe(check.message)}`,
      );
    const count = (status: Check['status']) =>
      checks.filter((check) => check.status === status).length;
    out.line();
    out.line(
      line`${ok ? c.green('ok') : c.red('failed')}: ${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed${strict && count('warn') > 0 ? ' (--strict: warnings fail)' : ''}`,
    );
  }
  return ok ? 0 : 7;
}

/** Can the DB file be written, or created in its folder? (db-probe.ts judges; warnings too.) */
export function probeDb(path: string): DbProbe & { warnings: string[]; fix: string | undefined } {
  const judged = judgeDbPath(path);
  return {
    exists: judged.exists,
    problem: judged.problem,
    fix: judged.fix,
    warnings: judged.warnings,
  };
}

async function liveCheck(
  config: Config,
  timeoutMs: number,
  beforeFirstRequest: (() => Promise<void>) | undefined,
  trace: Tracer | undefined,
): Promise<Check> {
  if (!config.clientId || !config.clientSecret) {
    return {
      id: 'live',
      status: 'fail',
      message:
        'cannot ask DingTalk without DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET; set both first',
    };
  }
  const { DingTalkClient } = await import('../dingtalk/client.js');
  const client = new DingTalkClient({
    apiBase: config.apiBase,
    timeoutMs,
    beforeFirstRequest,
    trace,
  });
  try {
    const token = await client.getAppAccessToken({
      clientId: config.clientId,
      clientSecret: config.clientSecret,
    });
    return {
      id: 'live',
      status: 'pass',
      message: `DingTalk (${config.apiBase}) accepted DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET (app token valid ${token.expireIn ?? '?'} s)`,
    };
  } catch (error) {
    if (!isCliError(error)) throw error;
    return { id: 'live', status: 'fail', message: error.message };
  } finally {
    await client.close();
  }
}
