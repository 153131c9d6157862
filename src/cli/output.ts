/**
 * Output: human text and JSON. Under `--json` stdout holds exactly one JSON document and
 * everything for humans goes to stderr; otherwise results go to stdout, progress to stderr.
 *
 * Sanitising by construction (sanitize.ts): `line`, `note` and `table` values take
 * {@link Safe} text (the `line`/`block` tags, a style of {@link Output.c}, or `trusted`); a
 * plain string given to `warn`, a table cell or a column is sanitised here. The JSON document
 * follows the one JSON rule ({@link jsonText}).
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { Sink } from './io.js';
import { jsonText, safe, Safe, safeValue, trusted } from './sanitize.js';
import { isoTime } from '../runtime/iso-time.js';

export { block, joinSafe, line, Safe, safeValue, trusted } from './sanitize.js';

/** A colour or weight: sanitises a value that is not Safe, and returns Safe text. */
export type Style = (text: Safe | string | number) => Safe;

/** The styles the commands use. */
export interface Styles {
  bold: Style;
  dim: Style;
  red: Style;
  green: Style;
  yellow: Style;
}

export interface OutputOptions {
  json: boolean;
  /** false for --no-color; otherwise the terminal and FORCE_COLOR/NO_COLOR decide. */
  color: boolean;
  env: NodeJS.ProcessEnv;
  stdout: Sink;
  stderr: Sink;
}

export class Output {
  readonly json: boolean;
  private readonly options: OutputOptions;
  private styles: Styles | undefined;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.options = options;
  }

  /**
   * chalk at the colour level of the stream human text goes to; without colour (a pipe, a
   * file, `--no-color`), {@link PLAIN}, so chalk is loaded only by a run that colours.
   */
  get c(): Styles {
    if (!this.styles) {
      const human = this.json ? this.options.stderr : this.options.stdout;
      const level = this.options.color ? colorLevel(human.isTTY, this.options.env) : 0;
      const chalk: ChalkInstance = level === 0 ? PLAIN : new Chalk({ level });
      const style =
        (paint: (text: string) => string): Style =>
        (text) =>
          trusted(paint(safeValue(text).text));
      this.styles = {
        bold: style((t) => chalk.bold(t)),
        dim: style((t) => chalk.dim(t)),
        red: style((t) => chalk.red(t)),
        green: style((t) => chalk.green(t)),
        yellow: style((t) => chalk.yellow(t)),
      };
    }
    return this.styles;
  }

  /** A result line for humans: stdout normally, stderr under `--json`. */
  line(text: Safe = trusted('')): void {
    this.write(this.json ? 2 : 1, `${text.text}\n`);
  }

  /** Progress, hints and warnings: always stderr. */
  note(text: Safe): void {
    this.write(2, `${text.text}\n`);
  }

  /** A warning: a plain string is sanitised (it often quotes untrusted values). */
  warn(text: Safe | string): void {
    this.note(trusted(`${this.c.yellow('⚠').text} ${safeValue(text).text}`));
  }

  /** The one JSON document of a `--json` run (the one JSON rule: sanitize.ts jsonText). */
  document(value: unknown): void {
    this.write(1, `${jsonText(value, 2)}\n`);
  }

  private write(fd: 1 | 2, text: string): void {
    (fd === 1 ? this.options.stdout : this.options.stderr).write(text);
  }

  /** Whether live progress (spinner, countdown) may be drawn. */
  get interactive(): boolean {
    return !this.json && this.options.stderr.isTTY;
  }

  /** Where live progress is drawn (stderr). */
  get errorStream(): Sink {
    return this.options.stderr;
  }

  /** Aligned `label  value` rows; a value that is a plain string is sanitised. */
  table(rows: [string, Safe | string][], indent = '  '): void {
    const width = Math.max(0, ...rows.map(([label]) => label.length));
    for (const [label, value] of rows) {
      this.line(
        trusted(`${indent}${this.c.dim(label.padEnd(width)).text}  ${safeValue(value).text}`),
      );
    }
  }

  /**
   * A column table with a dim header; pads by display width (CJK takes two columns). Cells
   * are data (stored rows), sanitised here.
   */
  columns(head: string[], unsafeRows: string[][]): void {
    const rows = unsafeRows.map((r) => r.map((cell) => safe(cell)));
    const widths = head.map((h, i) =>
      Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))),
    );
    const fmt = (r: string[]) =>
      r
        .map((v, i) => v + ' '.repeat(Math.max(0, (widths[i] ?? 0) - displayWidth(v))))
        .join('  ')
        .trimEnd();
    this.line(this.c.dim(fmt(head)));
    for (const r of rows) this.line(trusted(fmt(r)));
  }
}

/**
 * chalk at level 0 without loading chalk (building its styles costs ~2 ms at start-up): every
 * style, chained or not, returns its text as chalk does (one argument as a string, several
 * joined by spaces).
 */
const PLAIN: ChalkInstance = (() => {
  const style = (...text: unknown[]) => (text.length === 1 ? String(text[0]) : text.join(' '));
  const plain: ChalkInstance = new Proxy(style, {
    get: (_target, key) => (key === 'level' ? 0 : plain),
  }) as unknown as ChalkInstance;
  return plain;
})();

/** Terminal columns a string takes: East Asian wide characters count two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    width +=
      /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(
        ch,
      ) ||
      (cp >= 0x20000 && cp <= 0x3fffd)
        ? 2
        : 1;
  }
  return width;
}

/**
 * Pure: chalk's colour level (0 none, 1 basic, 2 256, 3 truecolor) for a stream. FORCE_COLOR
 * wins, then NO_COLOR (no-color.org), then: colours only on a terminal that is not dumb.
 */
export function colorLevel(isTTY: boolean, env: NodeJS.ProcessEnv): 0 | 1 | 2 | 3 {
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '' || force === 'true') return 1;
    if (force === 'false') return 0;
    const n = Number(force);
    return n >= 3 ? 3 : n === 2 ? 2 : n >= 1 ? 1 : 0;
  }
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (!isTTY || env.TERM === 'dumb') return 0;
  if (env.COLORTERM === 'truecolor' || env.COLORTERM === '24bit') return 3;
  if (/-256(color)?$/i.test(env.TERM ?? '')) return 2;
  return 1;
}

/** `4d 3h`, `5m 2s`, `12s`: the two largest units of a duration in seconds. */
export function humanDuration(totalSeconds: number): string {
  let s = Math.max(0, Math.round(Math.abs(totalSeconds)));
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  for (const [unit, size] of units) {
    if (s >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** `2026-11-24 20:06:29 UTC`. */
export function humanTime(epochSeconds: number): string {
  const iso = isoTime(epochSeconds * 1000);
  if (iso === null) throw new RangeError('Invalid time value');
  return `${iso.replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
}
