import { spawn, spawnSync } from 'node:child_process';
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

/**
 * TEMPORAL_BUILD=never: a missing program is an error, not a build. `npm test` sets it for the
 * whole suite: its pretest step builds every program first (src/temporal/build-programs.ts), so that
 * no test's timeout ever includes a build of several minutes.
 */
export const BUILD_SETTING = 'TEMPORAL_BUILD';

export function goProgramCacheDir(program: GoProgram): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, program.cacheName, program.version);
}

export function onPath(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const p = found.stdout.trim();
  return found.status === 0 && p ? p : undefined;
}

/** The program's cached build, if there is one. */
export function cachedGoProgram(program: GoProgram): string | undefined {
  const cached = path.join(goProgramCacheDir(program), program.binary);
  return fs.existsSync(cached) ? cached : undefined;
}

/**
 * The cached build of `program`; failing that, builds it with `go install` into the cache (unless
 * TEMPORAL_BUILD=never). Throws with install instructions when Go is not available, and with Go's
 * own last lines when it fails.
 */
export async function ensureGoProgram(program: GoProgram, log: (msg: string) => void, alternatives: string): Promise<string> {
  const cached = cachedGoProgram(program);
  if (cached) return cached;
  if (process.env[BUILD_SETTING] === 'never') {
    throw new Error(
      `${capitalised(program.label)} ${program.version} is not built (${path.join(goProgramCacheDir(program), program.binary)}), and ${BUILD_SETTING}=never forbids building it here: ` +
        'run `npm run build:temporal` (npm test runs it first, as its pretest step).',
    );
  }
  return buildGoProgram(program, log, alternatives);
}

/** Builds `program` with `go install` into its cache folder, reporting progress; the local Go first, then the fallback toolchain. */
export async function buildGoProgram(program: GoProgram, log: (msg: string) => void, alternatives: string): Promise<string> {
  const go = onPath('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  const install = `go install ${program.module}@${program.version}`;
  if (!go) throw new Error(`${capitalised(program.label)} was not found and Go is not installed to build it.\nInstall it with: ${install} (Go >= 1.24), ${alternatives}.`);
  const cacheDir = goProgramCacheDir(program);
  fs.mkdirSync(cacheDir, { recursive: true });
  log(`Building ${program.label} ${program.version} into ${cacheDir} (once per machine; takes a few minutes)...`);
  const attempts: Array<Record<string, string>> = [{}, ...(program.fallbackToolchain ? [{ GOTOOLCHAIN: program.fallbackToolchain }] : [])];
  const errors: string[] = [];
  for (const extraEnv of attempts) {
    const result = await goInstall(go, program, { ...process.env, GOBIN: cacheDir, ...extraEnv }, log);
    const built = cachedGoProgram(program);
    if (result.ok && built) return built;
    errors.push(`${JSON.stringify(extraEnv)}: ${result.lastLines}`);
  }
  throw new Error(`Could not build ${program.label} with Go (${install}):\n${errors.join('\n')}`);
}

/**
 * One `go install -v`: it names each package as it compiles it, and the count is the progress shown
 * (one updating line on a terminal, a log line every 15 s otherwise).
 */
function goInstall(go: string, program: GoProgram, env: NodeJS.ProcessEnv, log: (msg: string) => void): Promise<{ ok: boolean; lastLines: string }> {
  const progress = buildProgress(program, log);
  return new Promise((resolve) => {
    const child = spawn(go, ['install', '-v', `${program.module}@${program.version}`], { env, stdio: ['ignore', 'inherit', 'pipe'] });
    let tail = '';
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() && !line.startsWith('go: ')) progress.compiled();
      tail = (tail + chunk.toString()).slice(-2000);
    });
    const finish = (ok: boolean, extra = '') => {
      progress.done(ok);
      resolve({ ok, lastLines: `${tail}${extra}`.trim().split('\n').slice(-5).join('\n') });
    };
    child.once('error', (err) => finish(false, `\n${err.message}`));
    child.once('exit', (code) => finish(code === 0));
  });
}

/** Packages compiled and time elapsed, on one line that updates itself on a terminal; as log lines every 15 s otherwise. */
function buildProgress(program: GoProgram, log: (msg: string) => void): { compiled: () => void; done: (ok: boolean) => void } {
  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  let packages = 0;
  const line = () => `  ${program.label}: ${packages} packages compiled, ${elapsed(Date.now() - started)}`;
  const timer = setInterval(() => (tty ? process.stderr.write(`\r${line()}\x1b[K`) : log(line())), tty ? 1000 : 15_000);
  timer.unref();
  return {
    compiled: () => void packages++,
    done: (ok) => {
      clearInterval(timer);
      if (tty) process.stderr.write('\r\x1b[K');
      log(`${line()}: ${ok ? 'built' : 'failed'}`);
    },
  };
}

const elapsed = (ms: number) => `${Math.floor(ms / 60_000)} min ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')} s`;

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
