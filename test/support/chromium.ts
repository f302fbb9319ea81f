/**
 * The browser the console's tests drive: Debian's `chromium` package, never a browser that npm
 * downloads (puppeteer-core downloads nothing). Found at CHROMIUM_PATH, then the usual paths and
 * PATH; when it is missing it is installed with apt-get (as root, on Debian or Ubuntu), and when
 * that cannot be done the tests fail with a sentence that says what to do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/snap/bin/chromium'];

function findOnPath(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    const file = found.stdout?.trim();
    if (found.status === 0 && file) return file;
  }
  return undefined;
}

export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is ${fromEnv}, but there is no file there: point it at a Chromium binary or unset it.`);
    return fromEnv;
  }
  return CANDIDATES.find((file) => fs.existsSync(file)) ?? findOnPath();
}

function aptGet(args: string[]): void {
  execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 540_000 });
}

/** Chromium's path, installing Debian's package first when it is missing. Throws a clear sentence when it cannot. */
export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  const advice = 'Install it (Debian/Ubuntu: `apt-get install -y chromium`) or set CHROMIUM_PATH to a Chromium or Chrome binary.';
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/apt-get')) {
    throw new Error(`The console tests need Chromium, and it is not installed; this machine has no apt-get to install it with. ${advice}`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`The console tests need Chromium, and it is not installed; installing it takes root, and these tests are not running as root. ${advice}`);
  }
  try {
    try {
      aptGet(['install', '-y', '--no-install-recommends', 'chromium']);
    } catch {
      // A fresh machine has no package lists yet (or stale ones): update them and try once more.
      aptGet(['update']);
      aptGet(['install', '-y', '--no-install-recommends', 'chromium']);
    }
  } catch (err) {
    const detail = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n').slice(-3).join(' ');
    throw new Error(`The console tests need Chromium, and installing Debian's chromium package with apt-get failed (${detail}). ${advice}`, { cause: err });
  }
  const installed = findChromium();
  if (!installed) throw new Error(`apt-get installed the chromium package, but no chromium binary was found afterwards. ${advice}`);
  return installed;
}
