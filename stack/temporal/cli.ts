import fs from 'node:fs';
import { ensureGoProgram, goProgramCacheDir, onPath, type GoProgram } from './go-install';

/** The Temporal CLI release we build; later tags carry a `replace` directive and cannot be go-installed. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

export const TEMPORAL_CLI: GoProgram = {
  label: 'the Temporal CLI',
  module: 'github.com/temporalio/cli/cmd/temporal',
  version: TEMPORAL_CLI_VERSION,
  binary: 'temporal',
  cacheName: 'temporal-cli',
  // The Go toolchain the CLI was released with, fetched through the module proxy if the local Go cannot build it.
  fallbackToolchain: 'go1.25.5',
};

/** Outside the clone, so every clone and CI run on the machine reuses one build. */
export function temporalCliCacheDir(): string {
  return goProgramCacheDir(TEMPORAL_CLI);
}

/**
 * Finds the `temporal` binary: $TEMPORAL_CLI, then `temporal` on PATH, then the cached build;
 * failing those, builds it with `go install` into the cache. Throws with install instructions
 * when neither a binary nor Go is available.
 */
export async function ensureTemporalCli(opts: { explicitPath?: string; log?: (msg: string) => void } = {}): Promise<string> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (opts.explicitPath) {
    if (!fs.existsSync(opts.explicitPath)) throw new Error(`TEMPORAL_CLI=${opts.explicitPath} does not exist`);
    return opts.explicitPath;
  }
  return onPath('temporal') ?? ensureGoProgram(TEMPORAL_CLI, log, 'or set TEMPORAL_CLI to a temporal binary, or TEMPORAL_ADDRESS to an existing server');
}
