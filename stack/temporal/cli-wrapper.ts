/**
 * `npm run temporal -- <args>`: the project's Temporal CLI (src/temporal/cli.ts) against the running
 * stack, so `npm run temporal -- workflow list` works from a fresh clone without `temporal` on PATH.
 *
 * The server is TEMPORAL_ADDRESS when set, else the one `npm start` recorded in
 * `<DATA_DIR>/temporal.address`; the namespace is TEMPORAL_NAMESPACE (default `default`). They reach
 * the CLI as its own TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE variables, so `--address` or `--namespace`
 * on the command line still win, and commands that take neither (`--version`, `help`) are unaffected.
 * The CLI's stdout is left alone (pipe `npm run -s temporal -- workflow list -o json`); anything this
 * wrapper says goes to stderr. It exits with the CLI's exit code.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureTemporalCli } from './cli';

/** Written by `npm start` when it starts the dev server (src/supervision/children.ts). */
export const TEMPORAL_ADDRESS_FILE = 'temporal.address';

export function recordedTemporalAddress(dataDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dataDir, TEMPORAL_ADDRESS_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The environment the CLI runs with: the caller's, plus the stack's address and namespace unless given. */
export function cliEnvironment(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; note?: string } {
  const dataDir = env.DATA_DIR || '.data';
  const given = env.TEMPORAL_ADDRESS || undefined;
  const recorded = given ? undefined : recordedTemporalAddress(dataDir);
  const out: NodeJS.ProcessEnv = { ...env, TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE || 'default' };
  if (given ?? recorded) out.TEMPORAL_ADDRESS = given ?? recorded;
  const note =
    given || recorded
      ? undefined
      : `(no TEMPORAL_ADDRESS, and no ${path.join(dataDir, TEMPORAL_ADDRESS_FILE)}: is npm start running? Trying the CLI's default, localhost:7233)`;
  return { env: out, note };
}

async function main(): Promise<void> {
  const { env, note } = cliEnvironment(process.env);
  const cli = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI || undefined });
  const args = process.argv.slice(2);
  if (note && args.length > 0) process.stderr.write(`${note}\n`);
  const child = spawn(cli, args, { stdio: 'inherit', env });
  // A terminal's Ctrl-C reaches the CLI directly (same process group); a SIGTERM sent to us is passed on.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('error', (err) => {
    process.stderr.write(`could not run ${cli}: ${err.message}\n`);
    process.exit(1);
  });
  // Killed by a signal: the shell's convention, 128 + its number.
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
