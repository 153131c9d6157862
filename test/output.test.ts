/** Output's colours: chalk when the stream colours, the same text as chalk at level 0 otherwise. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Chalk } from 'chalk';
import { Output } from '../src/cli/output.ts';

const sink = (isTTY: boolean) => ({ isTTY, write: () => {} });
const output = (options: { color?: boolean; isTTY?: boolean; env?: NodeJS.ProcessEnv }) =>
  new Output({
    json: false,
    color: options.color ?? true,
    env: options.env ?? {},
    stdout: sink(options.isTTY ?? false),
    stderr: sink(false),
  });

test('without colour, every style gives what chalk gives at level 0, and sanitises', () => {
  const chalk = new Chalk({ level: 0 });
  for (const out of [output({}), output({ color: false, isTTY: true })]) {
    const { c } = out;
    assert.equal(c.green('✓').text, chalk.green('✓'));
    assert.equal(c.dim('').text, chalk.dim(''));
    assert.equal(c.yellow(42).text, chalk.yellow(42 as unknown as string));
    // A style is a sanitising boundary: untrusted text in it is escaped (issue 20).
    assert.equal(c.red('x\u001b[2Jy').text, 'x\\x1b[2Jy');
    assert.equal(c.bold(c.red('a')).text, 'a');
  }
});

test('on a terminal, or forced, the styles colour', () => {
  assert.equal(
    output({ isTTY: true, env: { TERM: 'xterm' } }).c.green('ok').text,
    '\u001b[32mok\u001b[39m',
  );
  assert.equal(output({ env: { FORCE_COLOR: '1' } }).c.red('no').text, '\u001b[31mno\u001b[39m');
  assert.equal(output({ isTTY: true, env: { NO_COLOR: '1' } }).c.red('no').text, 'no');
  // Styled text nested in a style keeps its colour; untrusted text in it does not get one.
  const out = output({ env: { FORCE_COLOR: '1' } });
  assert.equal(out.c.bold(out.c.red('no')).text, '\u001b[1m\u001b[31mno\u001b[39m\u001b[22m');
});
