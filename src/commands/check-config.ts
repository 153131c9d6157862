/**
 * `check-config`: one line per check, the fix in each message; `--live` asks DingTalk to
 * validate the app credentials; `--muvee <url>` (or MUVEE_URL) asks the deployed muvee
 * (deployment/check-deployment.ts); `--strict` makes warnings fail; `--format` writes the
 * checks as text, JSON, JUnit XML or GitHub Actions annotations. Exit 0 or 7.
 */
import { appendFileSync } from 'node:fs';
import { commandConfig, defineCommand, option, type Context } from '../cli/command.js';
import { CliError } from '../cli/errors.js';
import { line, trusted } from '../cli/output.js';
import type { ReportFormat } from '../cli/report-format.js';
import { runStaticChecks, type Check } from '../config/checks.js';
import type { Config } from '../config/config.js';
import { probeDb } from '../store/probe.js';
import type { Tracer } from '../dingtalk/trace.js';
import { isCliError } from '../cli/errors.js';

export const command = defineCommand({
  name: 'check-config',
  summary: 'validate the configuration, one line per check (CI smoke test)',
  options: {
    live: option.flag('--live', 'also ask DingTalk whether DINGTALK_CLIENT_ID/SECRET are valid'),
    muvee: option.string(
      '--muvee <url>',
      'also ask the deployed muvee at <url> (https, or http on loopback): DingTalk enabled, its client_id and redirect_uri, the state cookie and callback, and whether it accepts a 60-second session signed with JWT_SECRET; default MUVEE_URL',
    ),
    muveeUser: option.string(
      '--muvee-user <email|uuid>',
      "the user muvee's probe session is for (an email needs --db postgres://… or DATABASE_URL); default: the first ADMIN_EMAILS user, else the first user, of muvee's database",
    ),
    httpTimeout: option.seconds(
      '--http-timeout <seconds>',
      'give up on one DingTalk or muvee request after this long',
      10,
      { min: 0.1, max: 3600 },
    ),
    format: option.choice(
      '--format <format>',
      'text (default), json (as --json), junit (JUnit XML on stdout) or github (GitHub Actions annotations, and a table in $GITHUB_STEP_SUMMARY when set)',
      ['text', 'json', 'junit', 'github'] satisfies readonly ReportFormat[],
    ),
    strict: option.flag('--strict', 'warnings fail too'),
    verbose: option.flag(
      '--verbose',
      "with --live: print DingTalk's request and answer on stderr (secret and token redacted)",
    ),
  },
  examples: [
    'muvee-dingtalk check-config',
    'muvee-dingtalk check-config --live --strict --json   # in CI',
    'muvee-dingtalk check-config --live --muvee https://muvee.example.com --muvee-user admin@corp.example --db "$DATABASE_URL"',
    'muvee-dingtalk check-config --live --muvee https://muvee.example.com --format github   # GitHub Actions',
    'muvee-dingtalk check-config --live --format junit > check-config.xml   # GitLab CI, Jenkins',
  ],
  run,
});

async function run(
  context: Context,
  _args: string[],
  options: {
    live?: boolean;
    muvee?: string | undefined;
    muveeUser?: string | undefined;
    httpTimeout: number;
    format?: ReportFormat | undefined;
    strict?: boolean;
    verbose?: boolean;
  },
): Promise<number> {
  const { out } = context;
  if (out.json && options.format !== undefined && options.format !== 'json')
    throw new CliError(
      'usage',
      `--json and --format ${options.format} ask for two formats; keep one (--json is --format json)`,
    );
  const format: ReportFormat = out.json ? 'json' : (options.format ?? 'text');
  const muveeUser = options.muveeUser === '' ? undefined : options.muveeUser;
  if (muveeUser !== undefined) {
    const { muveeUserProblem } = await import('../deployment/check-deployment.js');
    const problem = muveeUserProblem(muveeUser);
    if (problem) throw new CliError('usage', problem);
  }
  const config = commandConfig(context, { tolerateEnvFile: true });
  const db = probeDb(config.dbFile);
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
  const muveeUrl = options.muvee ?? config.muveeUrl;
  if (muveeUrl !== undefined) {
    const { checkDeployment } = await import('../deployment/check-deployment.js');
    await context.io.beforeFirstRequest?.();
    checks.push(
      ...(await checkDeployment({
        muveeUrl,
        name: options.muvee !== undefined ? '--muvee' : 'MUVEE_URL',
        config,
        muveeUser,
        timeoutMs: options.httpTimeout * 1000,
      })),
    );
  } else if (muveeUser !== undefined) {
    out.warn(
      '--muvee-user names the user of the probe session at the deployed muvee; without --muvee (or MUVEE_URL) there is none',
    );
  }

  const strict = Boolean(options.strict);
  const ok = checks.every(
    (check) => check.status === 'pass' || (check.status === 'warn' && !strict),
  );
  if (format === 'json') {
    out.document({ ok, checks });
  } else if (format === 'junit') {
    const { junitReport } = await import('../cli/report-format.js');
    context.io.stdout.write(junitReport(checks, { strict }));
  } else if (format === 'github') {
    const { githubAnnotations, githubSummary } = await import('../cli/report-format.js');
    for (const line of githubAnnotations(checks, strict)) context.io.stdout.write(`${line}\n`);
    context.io.stdout.write(`${summaryLine(checks, ok, strict)}\n`);
    const summaryFile = config.runtime.githubStepSummary;
    if (summaryFile) {
      try {
        appendFileSync(summaryFile, githubSummary(checks, { ok, strict }));
      } catch (error) {
        out.warn(
          `could not append the summary to GITHUB_STEP_SUMMARY '${summaryFile}' (${(error as NodeJS.ErrnoException).code ?? String(error)}); the annotations above still hold`,
        );
      }
    }
  } else {
    const { c } = out;
    const mark = { pass: c.green('✓'), warn: c.yellow('⚠'), fail: c.red('✗') };
    const width = Math.max(...checks.map((check) => check.id.length));
    for (const check of checks)
      out.line(line`${mark[check.status]} ${c.dim(check.id.padEnd(width))}  ${check.message}`);
    out.line();
    // The program's own text (counts and fixed words): trusted, coloured.
    out.line(
      trusted(
        summaryLine(checks, ok, strict, {
          green: (text) => c.green(text).text,
          red: (text) => c.red(text).text,
        }),
      ),
    );
  }
  return ok ? 0 : 7;
}

/** `ok: 12 passed, 1 warning(s), 0 failed`. */
function summaryLine(
  checks: Check[],
  ok: boolean,
  strict: boolean,
  c?: { green(text: string): string; red(text: string): string },
): string {
  const count = (status: Check['status']) =>
    checks.filter((check) => check.status === status).length;
  const verdict = ok ? 'ok' : 'failed';
  return (
    `${c ? (ok ? c.green(verdict) : c.red(verdict)) : verdict}: ${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed` +
    (strict && count('warn') > 0 ? ' (--strict: warnings fail)' : '')
  );
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
