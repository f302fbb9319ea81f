import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The Temporal CLI release we build; later tags carry a `replace` directive and cannot be go-installed. */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';
/** The Go toolchain the CLI was released with, fetched through the module proxy if the local Go cannot build it. */
const FALLBACK_TOOLCHAIN = 'go1.25.5';

/** Outside the clone, so every clone and CI run on the machine reuses one build. */
export function temporalCliCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'temporal-cli', TEMPORAL_CLI_VERSION);
}

function onPath(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const p = found.stdout.trim();
  return found.status === 0 && p ? p : undefined;
}

/**
 * Finds the `temporal` binary: $TEMPORAL_CLI, then `temporal` on PATH, then the cached build;
 * failing those, builds it with `go install` into the cache. Throws with install instructions
 * when neither a binary nor Go is available.
 */
export function ensureTemporalCli(opts: { explicitPath?: string; log?: (msg: string) => void } = {}): string {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (opts.explicitPath) {
    if (!fs.existsSync(opts.explicitPath)) throw new Error(`TEMPORAL_CLI=${opts.explicitPath} does not exist`);
    return opts.explicitPath;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;

  const cacheDir = temporalCliCacheDir();
  const cached = path.join(cacheDir, 'temporal');
  if (fs.existsSync(cached)) return cached;

  const go = onPath('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found and Go is not installed to build it.\n' +
        `Install it with: go install ${MODULE}@${TEMPORAL_CLI_VERSION} (Go >= 1.24), ` +
        'or set TEMPORAL_CLI to a temporal binary, or TEMPORAL_ADDRESS to an existing server.',
    );
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} into ${cacheDir} (first run only; takes a few minutes)...`);
  const attempts: Array<Record<string, string>> = [{}, { GOTOOLCHAIN: FALLBACK_TOOLCHAIN }];
  const errors: string[] = [];
  for (const extraEnv of attempts) {
    try {
      execFileSync(go, ['install', `${MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...process.env, GOBIN: cacheDir, ...extraEnv },
        stdio: ['ignore', 'inherit', 'pipe'],
        encoding: 'utf8',
      });
      if (fs.existsSync(cached)) return cached;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      errors.push(`${JSON.stringify(extraEnv)}: ${(e.stderr || e.message).trim().split('\n').slice(-5).join('\n')}`);
    }
  }
  throw new Error(`Could not build the Temporal CLI with Go:\n${errors.join('\n')}`);
}
