/**
 * `verify-token`: is this a session muvee would accept? HS256 with JWT_SECRET, `exp`
 * required, muvee's claims; and is its user in the local database with the same role?
 * The work is in token-check.ts, which the bin also runs without commander
 * (runtime/fast-verify-token.ts); this module is its declaration.
 */
import { defineCommand, option } from '../cli/command.js';
import { verifyToken } from './verify-token-body.js';

export const command = defineCommand({
  name: 'verify-token',
  summary:
    "check a muvee session token (HS256 with JWT_SECRET, muvee's claims), or --decode it unverified",
  arguments: [
    {
      name: '[token]',
      description: "the JWT, 'muvee_session=<jwt>', a Cookie header value, or '-' to read stdin",
      defaultValue: '-',
    },
  ],
  options: {
    leeway: option.seconds('--leeway <seconds>', 'tolerate this much clock skew for exp/nbf', 0),
    each: option.flag(
      '--each',
      'read many tokens from stdin, one per line; print one JSON line per token; exit 0 only when all are valid',
    ),
    decode: option.flag(
      '--decode',
      'only decode: print the header and claims UNVERIFIED (signature not checked, no JWT_SECRET needed); exit 0 if it decodes, 5 if malformed',
    ),
  },
  examples: [
    'muvee-dingtalk verify-token - < token.txt      # from stdin: keeps the token out of shell history',
    "muvee-dingtalk verify-token 'muvee_session=eyJ...; theme=dark'",
    'muvee-dingtalk verify-token eyJhbGciOiJIUzI1NiIs... --leeway 30 --json',
    'muvee-dingtalk verify-token --each - < tokens.txt   # one JSON line per token',
    'muvee-dingtalk verify-token --decode - < token.txt  # no JWT_SECRET: what it says, UNVERIFIED',
  ],
  // Built, `--each` may hand long inputs to worker threads (token-check.ts).
  run: (context, [tokenArg = '-'], options) =>
    verifyToken(
      context,
      tokenArg,
      options,
      import.meta.url.endsWith('.cjs')
        ? new URL('../runtime/token-worker.cjs', import.meta.url)
        : undefined,
    ),
});
