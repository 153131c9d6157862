/**
 * The one error type of the tool. Commands throw it; only `cli.ts` prints it and turns
 * its `code` into an exit code. Tests assert `code`, never the wording.
 */

/** Stable error codes, grouped by the exit code they map to (see README, "Exit codes"). */
export type ErrorCode =
  // 1: unexpected
  | 'internal'
  | 'db-error'
  // 2: usage or configuration
  | 'usage'
  | 'config'
  | 'port-busy'
  | 'db-unusable'
  // 3: DingTalk refused
  | 'dingtalk-refused'
  | 'consent-denied'
  // 4: DingTalk unreachable, or the callback never came
  | 'dingtalk-unreachable'
  | 'dingtalk-unavailable'
  | 'dingtalk-bad-response'
  | 'timeout'
  // 5: token rejected
  | 'token-rejected'
  // 6: denied by policy
  | 'policy-denied'
  // 7: a configuration check failed
  | 'check-failed'
  // 130: interrupted
  | 'interrupted';

export const EXIT_CODES: Record<ErrorCode, number> = {
  internal: 1,
  'db-error': 1,
  usage: 2,
  config: 2,
  'port-busy': 2,
  'db-unusable': 2,
  'dingtalk-refused': 3,
  'consent-denied': 3,
  'dingtalk-unreachable': 4,
  'dingtalk-unavailable': 4,
  'dingtalk-bad-response': 4,
  timeout: 4,
  'token-rejected': 5,
  'policy-denied': 6,
  'check-failed': 7,
  interrupted: 130,
};

/**
 * Marks a CliError across copies of this module: verify-token's bundles and its reader of the
 * local file carry their own (scripts/build.mjs); everything else shares dist/cli/errors.cjs.
 */
const BRAND = Symbol.for('muvee-dingtalk.CliError');

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly exitCode: number;
  /** Extra machine-readable facts (DingTalk's code, request id, ...) for `--json`. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = EXIT_CODES[code];
    this.details = options.details;
  }
}

export function isCliError(error: unknown): error is CliError {
  return (
    typeof error === 'object' && error !== null && (error as { [BRAND]?: boolean })[BRAND] === true
  );
}

/** `DEBUG=muvee-dingtalk` (or `*`, in a comma list) asks for stack traces. Pure. */
export function debugRequested(env: NodeJS.ProcessEnv): boolean {
  return (env.DEBUG ?? '').split(',').some((d) => /^(muvee-dingtalk|\*)$/.test(d.trim()));
}
