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

test('without colour, every style gives what chalk gives at level 0', () => {
  const chalk = new Chalk({ level: 0 });
  for (const out of [output({}), output({ color: false, isTTY: true })]) {
    const { c } = out;
    assert.equal(c.level, 0);
    assert.equal(c.green('✓'), chalk.green('✓'));
    assert.equal(c.dim(''), chalk.dim(''));
    assert.equal(c.yellow(42 as unknown as string), chalk.yellow(42 as unknown as string));
    assert.equal(c.bold.red('a', 'b'), chalk.bold.red('a', 'b'));
    assert.equal(c.red.dim.underline('x\u001b[2Jy'), chalk.red.dim.underline('x\u001b[2Jy'));
  }
});

test('on a terminal, or forced, the styles colour', () => {
  assert.equal(
    output({ isTTY: true, env: { TERM: 'xterm' } }).c.green('ok'),
    '\u001b[32mok\u001b[39m',
  );
  assert.equal(output({ env: { FORCE_COLOR: '1' } }).c.red('no'), '\u001b[31mno\u001b[39m');
  assert.equal(output({ isTTY: true, env: { NO_COLOR: '1' } }).c.red('no'), 'no');
});
