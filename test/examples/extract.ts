/**
 * Every command example a user can copy: the README's shell blocks (one example per line, a
 * line ending in `\` continued) and the `$ ` lines of every `--help` text as the built CLI
 * prints it (dist/help.json, rendered at build time from the declarations; indented lines
 * after a `$ ` line belong to it). Whole-line comments are prose, not examples.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Example {
  /** The example exactly as a user would paste it (continuation lines joined by `\n`). */
  text: string;
  /** Where it is written: `README.md:<line>` or `<command> --help`. */
  where: string[];
}

/** The shell blocks of a Markdown document (```sh, ```bash, ```shell, ```console). */
export function markdownExamples(markdown: string, file = 'README.md'): Example[] {
  const found: Example[] = [];
  const lines = markdown.split('\n');
  let inShell = false;
  let inOther = false;
  let pending: { text: string[]; line: number } | undefined;
  for (const [i, raw] of lines.entries()) {
    const fence = /^\s*```\s*([\w-]*)/.exec(raw);
    if (fence) {
      if (inShell || inOther) {
        if (pending) throw new Error(`${file}:${pending.line}: a '\\' line ends its block`);
        inShell = inOther = false;
      } else if (/^(sh|bash|shell|console|zsh)$/.test(fence[1]!)) inShell = true;
      else inOther = true;
      continue;
    }
    if (!inShell) continue;
    const line = raw.replace(/^\$ /, '');
    if (pending) pending.text.push(line);
    else if (line.trim() === '' || /^\s*#/.test(line)) continue;
    else pending = { text: [line], line: i + 1 };
    if (!/\\$/.test(line)) {
      found.push({ text: pending.text.join('\n'), where: [`${file}:${pending.line}`] });
      pending = undefined;
    }
  }
  return found;
}

/** The `$ ` lines of one help text, with their indented continuation lines. */
export function helpExamples(help: string, where: string): Example[] {
  const found: Example[] = [];
  let current: string[] | undefined;
  const flush = () => {
    if (current) found.push({ text: current.join('\n'), where: [where] });
    current = undefined;
  };
  for (const line of help.split('\n')) {
    const start = /^ {2}\$ (.*)$/.exec(line);
    if (start) {
      flush();
      current = [start[1]!];
    } else if (current && /^ {4}\S/.test(line))
      // Indented right under it, no blank line between (a command's notes follow a blank line).
      current.push(line.replace(/^ {4}/, ''));
    else flush();
  }
  flush();
  return found;
}

/** The help texts of the built CLI: `{ "": program, "login": …, "users list": … }`. */
export function builtHelpTexts(root: string): Record<string, string> {
  const file = join(root, 'dist', 'help.json');
  if (!existsSync(file)) throw new Error(`${file} is missing; run 'npm run build' first`);
  const texts = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const help: Record<string, string> = {};
  for (const [key, value] of Object.entries(texts))
    if (key !== 'version') help[key] = String(value);
  return help;
}

/** Every example, once per text (a text written in several places lists them all). */
export function allExamples(root: string): Example[] {
  const byText = new Map<string, Example>();
  const add = (example: Example) => {
    const seen = byText.get(example.text);
    if (seen) seen.where.push(...example.where);
    else byText.set(example.text, example);
  };
  markdownExamples(readFileSync(join(root, 'README.md'), 'utf8')).forEach(add);
  for (const [command, text] of Object.entries(builtHelpTexts(root)))
    helpExamples(text, `${command === '' ? 'muvee-dingtalk' : command} --help`).forEach(add);
  return [...byText.values()];
}
