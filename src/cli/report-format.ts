/**
 * check-config's reports for CI, pure: JUnit XML (GitLab, Jenkins, most CI systems show it as
 * tests), GitHub Actions workflow commands (`::error`/`::warning` annotations), and the
 * Markdown table for `$GITHUB_STEP_SUMMARY`. Every message passes the terminal sanitiser
 * first (no control character reaches a CI log, and none that XML 1.0 forbids), then the
 * format's own escaping.
 *
 * @see https://docs.github.com/actions/reference/workflow-commands-for-github-actions
 * @see https://github.com/testmoapp/junitxml (the de-facto JUnit XML format)
 */
import type { Check } from '../config/checks.js';
import { safe } from './sanitize.js';

export const REPORT_FORMATS = ['text', 'json', 'junit', 'github'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Whether a check fails the run: a failure, or a warning under `--strict`. */
export const failsRun = (check: Check, strict: boolean): boolean =>
  check.status === 'fail' || (check.status === 'warn' && strict);

/** Pure: text for XML character data (after {@link safe}: nothing XML 1.0 forbids is left). */
export function escapeXml(text: string): string {
  return safe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Pure: text for a double-quoted XML attribute value. */
export function escapeXmlAttribute(text: string): string {
  return escapeXml(text).replace(/"/g, '&quot;');
}

/** Pure: a JUnit XML document, one `<testcase>` per check. */
export function junitReport(
  checks: Check[],
  options: { strict: boolean; suite?: string; classname?: string },
): string {
  const suite = options.suite ?? 'muvee-dingtalk check-config';
  const classname = options.classname ?? 'check-config';
  const failures = checks.filter((check) => failsRun(check, options.strict)).length;
  const cases = checks.map((check) => {
    const head = `    <testcase classname="${escapeXmlAttribute(classname)}" name="${escapeXmlAttribute(check.id)}">`;
    const message = escapeXml(check.message);
    if (failsRun(check, options.strict)) {
      const type = check.status === 'warn' ? 'warning (--strict)' : 'failure';
      return `${head}\n      <failure type="${type}" message="${escapeXmlAttribute(check.message)}">${message}</failure>\n    </testcase>`;
    }
    const label = check.status === 'warn' ? 'warning: ' : '';
    return `${head}\n      <system-out>${label}${message}</system-out>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXmlAttribute(suite)}" tests="${checks.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${escapeXmlAttribute(suite)}" tests="${checks.length}" failures="${failures}" errors="0" skipped="0">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** Pure: a workflow command's message (GitHub's `escapeData`: `%`, `\r`, `\n`). */
export function escapeGithubData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Pure: a workflow command's property value (`escapeProperty`: also `:` and `,`). */
export function escapeGithubProperty(text: string): string {
  return escapeGithubData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * Pure: the lines of a GitHub Actions run: an `::error`/`::warning` annotation per failing or
 * warning check (titled with its id), a plain `✓` line per passing one. A message is on one
 * line ({@link safe}), so none can start a workflow command of its own.
 */
export function githubAnnotations(checks: Check[], strict: boolean): string[] {
  return checks.map((check) => {
    if (check.status === 'pass') return `✓ ${check.id}  ${safe(check.message)}`;
    const level = failsRun(check, strict) ? 'error' : 'warning';
    return `::${level} title=${escapeGithubProperty(`check-config ${check.id}`)}::${escapeGithubData(safe(check.message))}`;
  });
}

/** Pure: text for a Markdown table cell: no line break, no `|`, no HTML or Markdown markup. */
export function escapeMarkdownCell(text: string): string {
  return safe(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~#!])/g, '\\$1');
}

/** Pure: the `$GITHUB_STEP_SUMMARY` section: a heading with the verdict and one row per check. */
export function githubSummary(checks: Check[], options: { ok: boolean; strict: boolean }): string {
  const count = (status: Check['status']) => checks.filter((c) => c.status === status).length;
  const icon = { pass: '✅', warn: '⚠️', fail: '❌' };
  const rows = checks.map(
    (check) =>
      `| ${icon[check.status]} | \`${check.id.replace(/`/g, '')}\` | ${escapeMarkdownCell(check.message)} |`,
  );
  return [
    `### muvee-dingtalk check-config: ${options.ok ? 'ok' : 'failed'}`,
    '',
    `${count('pass')} passed, ${count('warn')} warning(s)${options.strict && count('warn') > 0 ? ' (--strict: warnings fail)' : ''}, ${count('fail')} failed`,
    '',
    '| | check | result |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
