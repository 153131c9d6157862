/**
 * Output: human text and JSON. Under `--json` stdout holds exactly one JSON document and
 * everything for humans goes to stderr; otherwise results go to stdout, progress to stderr.
 */
import { Chalk, type ChalkInstance } from 'chalk';

export interface OutputOptions {
  json: boolean;
  color: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export class Output {
  readonly json: boolean;
  readonly c: ChalkInstance;
  private readonly stdout: NodeJS.WritableStream;
  private readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    // chalk detects colour support itself; --no-color forces it off.
    this.c = options.color ? new Chalk() : new Chalk({ level: 0 });
  }

  /** A result line for humans: stdout normally, stderr under `--json`. */
  line(text = ''): void {
    (this.json ? this.stderr : this.stdout).write(`${text}\n`);
  }

  /** Progress, hints and warnings: always stderr. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    this.note(`${this.c.yellow('⚠')} ${text}`);
  }

  /** The one JSON document of a `--json` run. */
  document(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Whether live progress (spinner, countdown) may be drawn. */
  get interactive(): boolean {
    return !this.json && this.stderr.isTTY === true;
  }

  get errorStream(): NodeJS.WritableStream {
    return this.stderr;
  }

  /** Aligned `label  value` rows. */
  table(rows: [string, string][], indent = '  '): void {
    const width = Math.max(0, ...rows.map(([label]) => label.length));
    for (const [label, value] of rows) {
      this.line(`${indent}${this.c.dim(label.padEnd(width))}  ${value}`);
    }
  }

  /** A column table with a dim header; pads by display width (CJK takes two columns). */
  columns(head: string[], rows: string[][]): void {
    const widths = head.map((h, i) =>
      Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))),
    );
    const fmt = (r: string[]) =>
      r
        .map((v, i) => v + ' '.repeat(Math.max(0, (widths[i] ?? 0) - displayWidth(v))))
        .join('  ')
        .trimEnd();
    this.line(this.c.dim(fmt(head)));
    for (const r of rows) this.line(fmt(r));
  }
}

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
  return `${new Date(epochSeconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`;
}
