import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Temporal's programs are built from their Go modules (no binary can be downloaded on the machines
 * this runs on), once per machine, into a cache outside the clone so every clone and CI run reuses it.
 */
export type GoProgram = {
  /** What the log and errors call it, e.g. "the Temporal CLI". */
  label: string;
  /** The package to `go install`, e.g. github.com/temporalio/cli/cmd/temporal. */
  module: string;
  version: string;
  /** The binary `go install` writes: the package path's last element. */
  binary: string;
  /** The cache folder's name under ~/.cache (XDG_CACHE_HOME). */
  cacheName: string;
  /** A Go toolchain to fetch through the module proxy when the local Go cannot build it. */
  fallbackToolchain?: string;
};

export function goProgramCacheDir(program: GoProgram): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, program.cacheName, program.version);
}

export function onPath(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const p = found.stdout.trim();
  return found.status === 0 && p ? p : undefined;
}

/**
 * The cached build of `program`; failing that, builds it with `go install` into the cache. Throws
 * with install instructions when Go is not available, and with Go's own last lines when it fails.
 */
export function ensureGoProgram(program: GoProgram, log: (msg: string) => void, alternatives: string): string {
  const cacheDir = goProgramCacheDir(program);
  const cached = path.join(cacheDir, program.binary);
  if (fs.existsSync(cached)) return cached;

  const go = onPath('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  const install = `go install ${program.module}@${program.version}`;
  if (!go) throw new Error(`${capitalised(program.label)} was not found and Go is not installed to build it.\nInstall it with: ${install} (Go >= 1.24), ${alternatives}.`);
  fs.mkdirSync(cacheDir, { recursive: true });
  log(`Building ${program.label} ${program.version} into ${cacheDir} (first run only; takes a few minutes)...`);
  const attempts: Array<Record<string, string>> = [{}, ...(program.fallbackToolchain ? [{ GOTOOLCHAIN: program.fallbackToolchain }] : [])];
  const errors: string[] = [];
  for (const extraEnv of attempts) {
    try {
      execFileSync(go, ['install', `${program.module}@${program.version}`], {
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
  throw new Error(`Could not build ${program.label} with Go (${install}):\n${errors.join('\n')}`);
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
