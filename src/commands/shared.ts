/**
 * Small helpers the commands share: configuration from the global flags, and stdin.
 */
import { assertEnvFileWellFormed, loadConfig, type Config } from '../config.js';
import type { Context } from '../program.js';

/** The configuration for a command; a malformed `.env` line is a `config` error. */
export function commandConfig(
  context: Context,
  options: { tolerateEnvFile?: boolean } = {},
): Config {
  const config = loadConfig({
    flags: { envFile: context.globals.envFile, db: context.globals.db },
  });
  if (!options.tolerateEnvFile) assertEnvFileWellFormed(config);
  return config;
}

/** All of stdin as text (for tokens piped in, so they stay out of shell history). */
export async function readStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
