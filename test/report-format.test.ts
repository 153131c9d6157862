/**
 * cli/report-format.ts, pure: JUnit XML, GitHub Actions workflow commands and the step-summary
 * table, escaped as each format requires, for any message (a hostile muvee writes some).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Check } from '../src/config/checks.ts';
import {
  REPORT_FORMATS,
  escapeGithubData,
  escapeGithubProperty,
  escapeMarkdownCell,
  escapeXml,
  escapeXmlAttribute,
  githubAnnotations,
  githubSummary,
  junitReport,
} from '../src/cli/report-format.ts';

const HOSTILE = 'a%b\r\nc:d,e <x>&"\'\x1b[2J\x00|`*_[l](u)\u202e';

test("GitHub's escaping: data escapes %, CR, LF; properties also ':' and ','", () => {
  assert.equal(escapeGithubData('50% done\r\nnext'), '50%25 done%0D%0Anext');
  assert.equal(escapeGithubData('a:b,c'), 'a:b,c');
  assert.equal(escapeGithubProperty('check-config a:b,c%\n'), 'check-config a%3Ab%2Cc%25%0A');
  // % first: an escape is never escaped twice, nor is an existing '%0A' taken for a newline
  assert.equal(escapeGithubData('%0A'), '%250A');
});

test('annotations: one line each, errors for failures (and warnings under --strict)', () => {
  const checks: Check[] = [
    { id: 'ok-one', status: 'pass', message: 'fine' },
    { id: 'soft', status: 'warn', message: 'hmm' },
    { id: 'hard', status: 'fail', message: HOSTILE },
  ];
  const lines = githubAnnotations(checks, false);
  assert.deepEqual(lines.slice(0, 2), ['✓ ok-one  fine', '::warning title=check-config soft::hmm']);
  assert.equal(lines.length, 3);
  assert.ok(lines[2]!.startsWith('::error title=check-config hard::a%25b'));
  for (const line of lines) assert.doesNotMatch(line, /[\r\n\x00-\x08\x1b]/);
  assert.equal(githubAnnotations(checks, true)[1], '::error title=check-config soft::hmm');
});

test('JUnit: a well-formed document, failures counted, nothing XML 1.0 forbids', () => {
  const checks: Check[] = [
    { id: 'a', status: 'pass', message: 'fine' },
    { id: 'w', status: 'warn', message: 'soft' },
    { id: 'f<"x">', status: 'fail', message: HOSTILE },
  ];
  const xml = junitReport(checks, { strict: false });
  assert.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites [^>]*tests="3" failures="1"/,
  );
  assert.match(xml, /<testcase classname="check-config" name="f&lt;&quot;x&quot;&gt;">/);
  assert.match(xml, /<system-out>warning: soft<\/system-out>/);
  assert.doesNotMatch(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/);
  // every element opened is closed, in order (a small well-formedness check)
  const stack: string[] = [];
  for (const [, close, name] of xml.matchAll(/<(\/?)([a-z-]+)[^>]*?(?<!\/)>/g)) {
    if (close) assert.equal(stack.pop(), name);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
  // no raw '<' or '&' left in text: only the markup itself
  const text = xml.replace(/<[^>]*>/g, '');
  assert.doesNotMatch(text, /<|&(?!amp;|lt;|gt;|quot;)/);
  assert.match(
    junitReport(checks, { strict: true }),
    /failures="2"[\s\S]*<failure type="warning \(--strict\)"/,
  );
});

test('XML escaping keeps text, escapes markup and control characters', () => {
  assert.equal(escapeXml('a<b>&c'), 'a&lt;b&gt;&amp;c');
  assert.equal(escapeXml('\x1b[31m'), '\\x1b[31m');
  assert.equal(escapeXmlAttribute('say "hi"'), 'say &quot;hi&quot;');
});

test('the step summary: a table whose cells cannot break out of it', () => {
  const md = githubSummary(
    [
      { id: 'a', status: 'pass', message: 'fine' },
      { id: 'b', status: 'fail', message: HOSTILE },
    ],
    { ok: false, strict: false },
  );
  assert.match(
    md,
    /^### muvee-dingtalk check-config: failed\n\n1 passed, 0 warning\(s\), 1 failed\n/,
  );
  const rows = md.split('\n').filter((l) => l.startsWith('| '));
  assert.equal(rows.length, 3);
  // each row has exactly its four unescaped pipes
  for (const row of rows) assert.equal(row.replace(/\\\|/g, '').split('|').length - 1, 4);
  assert.equal(escapeMarkdownCell('<img src=x>'), '&lt;img src=x&gt;');
  assert.equal(escapeMarkdownCell('[l](u) *b* `c`'), '\\[l\\](u) \\*b\\* \\`c\\`');
});

test("check-config's --format choices are exactly the formats this module writes", async () => {
  const { command } = await import('../src/commands/check-config.ts');
  assert.deepEqual(command.options?.format?.choices, REPORT_FORMATS);
});
