/**
 * `verify-token --muvee <url>`: after the local verdict, the deployed muvee's own answer for
 * the same token (`GET /api/me` with it as `Authorization: Bearer`), printed beside it, and
 * a disagreement stated plainly. The token goes only to the URL named on the command line,
 * only over https or to loopback (checked before the token is even read). Loaded only with
 * `--muvee`, so plain verify-token still loads no HTTP client.
 */
import { line, type Output } from '../cli/output.js';
import { CliError } from '../cli/errors.js';
import { safe } from '../cli/sanitize.js';
import {
  compareVerdicts,
  judgeTokenAtMuvee,
  type LocalVerdict,
  type MuveeTokenAnswer,
} from './session-checks.js';
import { judgeMuveeUrl } from './target.js';
import { fetchMe, MuveeProbe } from './probe.js';

/** What the JSON document carries under `muvee`. */
export interface TokenAtMuvee extends MuveeTokenAnswer {
  url: string;
  agrees: boolean | null;
  disagreement?: string;
}

/** The URL the token may be sent to, or a usage error (exit 2) saying why not. */
export function muveeTarget(raw: string): URL {
  const { check, url } = judgeMuveeUrl(raw, '--muvee');
  if (!url) throw new CliError('usage', check.message);
  return url;
}

/** Sends `token` to `url`'s /api/me and judges the answer against the local verdict. */
export async function askMuveeAboutToken(
  url: URL,
  token: string,
  local: LocalVerdict,
  timeoutMs: number,
): Promise<TokenAtMuvee> {
  const probe = new MuveeProbe({ base: url, timeoutMs });
  try {
    const answer = judgeTokenAtMuvee(await fetchMe(probe, token), timeoutMs);
    const { agrees, disagreement } = compareVerdicts(local, answer);
    return {
      url: probe.url(''),
      ...answer,
      agrees: agrees ?? null,
      ...(disagreement ? { disagreement } : {}),
    };
  } finally {
    await probe.close();
  }
}

/** The lines after the local verdict's table. */
export function printTokenAtMuvee(out: Output, answer: TokenAtMuvee): void {
  const { c } = out;
  const mark =
    answer.accepts === true ? c.green('✓') : answer.accepts === false ? c.red('✗') : c.yellow('⚠');
  out.line(line`${mark} deployed muvee: ${safe(answer.message)}`);
  if (answer.disagreement)
    out.line(line`${c.yellow('⚠')} disagreement: ${safe(answer.disagreement)}`);
}

/**
 * The exit code with muvee's answer: 0 only when both accept; 5 when either refuses; 4 when
 * the local verdict is valid and muvee gave none (unreachable, or not muvee's answer).
 */
export function exitWithMuvee(localValid: boolean, answer: TokenAtMuvee): number {
  if (!localValid || answer.accepts === false) return 5;
  return answer.accepts === true ? 0 : 4;
}
