/**
 * The service as `npm start` runs it (stack/main.ts: embedded Postgres, the Temporal dev server on its
 * SQLite file, the rail, the worker and the API in one process), started by the benchmark in a
 * process group of its own so that it can be SIGKILLed whole and started again on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config';
import { openDatabase } from '../stack/postgres/database';
import { freePort } from '../stack/net';
import { say, sleep } from './timing';

const ROOT = path.resolve(__dirname, '..');

export type StackOptions = {
  dataDir: string;
  /** Extra environment, e.g. TEMPORAL_ADDRESS for a Temporal server the benchmark runs itself. */
  env?: Record<string, string>;
};

export type Stack = {
  apiUrl: string;
  adminKey: string;
  temporalAddress: string;
  railUrl: string;
  dataDir: string;
  /** The stack's Postgres (the embedded cluster in dataDir, or DATABASE_URL). */
  databaseUrl: () => Promise<string>;
  /** The pid of npm start's own process (the API and the worker, supervising the others). */
  readonly pid: number;
  /** SIGKILL to the whole process group: the API, the worker, the dev server, Postgres, the rail. */
  kill: () => Promise<void>;
  /** SIGKILL to npm start's own process only: the processes it started are left orphaned. */
  killMain: () => Promise<void>;
  stop: () => Promise<void>;
  /** Starts it again on the same data (and the same ports); resolves once /ready answers 200. */
  restart: () => Promise<{ readyAt: number }>;
};

export async function startStack(opts: StackOptions): Promise<Stack> {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  // The embedded cluster runs as the `postgres` user when we are root: it must be able to enter the folder.
  fs.chmodSync(opts.dataDir, 0o755);
  const env: Record<string, string> = {
    // The benchmark measures capacity: one admin key from 127.0.0.1 at full speed, not the rate limits
    // (the defaults allow 100 requests/s a key; the environment can still set its own).
    RATE_LIMIT_PER_KEY: '1000000',
    RATE_LIMIT_PER_ADDRESS: '1000000',
    ...(process.env as Record<string, string>),
    DATA_DIR: opts.dataDir,
    PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    // Ports of their own, so the stack starts beside a developer's `npm start` (9464/9465 by default).
    METRICS_PORT: String(await freePort()),
    TEMPORAL_METRICS_PORT: String(await freePort()),
    ADMIN_API_KEY: `sk_bench_${randomBytes(16).toString('hex')}`,
    ...opts.env,
  };
  const log = fs.createWriteStream(path.join(opts.dataDir, 'stack.log'), { flags: 'a' });
  let child: ChildProcess;
  let printed = '';
  // Every process group started: after a restart, what is left of an earlier one goes with the stack.
  const groups = new Set<number>();

  const signalGroup = (signal: NodeJS.Signals) => {
    for (const group of groups) {
      try {
        process.kill(-group, signal);
      } catch {
        /* already gone */
      }
    }
  };
  const launch = async () => {
    printed = '';
    // What `npm start` runs (tsx stack/main.ts), as one process; BENCH_STACK_NODE_OPTIONS adds node flags (e.g. --cpu-prof).
    const nodeFlags = (process.env.BENCH_STACK_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
    child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(ROOT, 'stack/main.ts')], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    groups.add(child.pid as number);
    const capture = (chunk: Buffer) => {
      log.write(chunk);
      const text = chunk.toString();
      // Request logs can run ahead of the banner (clients retrying during a restart): keep the banner whatever came before.
      if (printed.length < 20_000 || /Payments service is running/.test(text)) printed += text;
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    // The stack is its own process group: if the benchmark dies, take the stack with it.
    const orphanGuard = () => signalGroup('SIGKILL');
    process.once('exit', orphanGuard);
    child.once('exit', () => process.removeListener('exit', orphanGuard));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`npm start exited (${code ?? signal}) before it was ready; see ${path.join(opts.dataDir, 'stack.log')}`))),
    );
    const apiUrl = `http://localhost:${env.PORT}`;
    await Promise.race([exited, waitReady(apiUrl, () => /Payments service is running/.test(printed))]);
    child.removeAllListeners('exit');
    return { readyAt: performance.now() };
  };

  const started = performance.now();
  await launch();
  say(`npm start is ready in ${((performance.now() - started) / 1000).toFixed(1)} s (data in ${opts.dataDir})`);
  const temporalAddress = /^\s*Temporal:\s+(\S+)/m.exec(printed)?.[1];
  const railUrl = /Payout rail:\s+(\S+)/.exec(printed)?.[1];
  if (!temporalAddress || !railUrl) throw new Error(`could not read the Temporal address or the rail URL from npm start's output:\n${printed}`);

  const waitExit = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  let current: { temporalAddress: string; railUrl: string } = { temporalAddress, railUrl };

  return {
    apiUrl: `http://localhost:${env.PORT}`,
    adminKey: env.ADMIN_API_KEY as string,
    get temporalAddress() {
      return current.temporalAddress;
    },
    get railUrl() {
      return current.railUrl;
    },
    get pid() {
      return child.pid as number;
    },
    dataDir: opts.dataDir,
    databaseUrl: async () => (await openDatabase(loadConfig({ ...env, DATA_DIR: opts.dataDir }))).url,
    kill: async () => {
      signalGroup('SIGKILL');
      await waitExit();
      // The group's other members (Postgres, the dev server) die with it; give the OS a moment to reap them.
      await sleep(500);
    },
    killMain: async () => {
      child.kill('SIGKILL');
      await waitExit();
    },
    stop: async () => {
      signalGroup('SIGTERM');
      // (unref: a stack that stopped in time must not keep its caller, e.g. a test, alive for the rest of the 30 s)
      await Promise.race([waitExit(), new Promise<void>((resolve) => setTimeout(resolve, 30_000).unref())]);
      signalGroup('SIGKILL');
      log.end();
    },
    restart: async () => {
      const ready = await launch();
      current = {
        temporalAddress: /^\s*Temporal:\s+(\S+)/m.exec(printed)?.[1] ?? current.temporalAddress,
        railUrl: /Payout rail:\s+(\S+)/.exec(printed)?.[1] ?? current.railUrl,
      };
      return ready;
    },
  } as Stack;
}

/** Polls GET /ready until it answers 200 and the start-up banner has been printed. */
async function waitReady(apiUrl: string, bannerPrinted: () => boolean, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200 && bannerPrinted()) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`${apiUrl}/ready did not answer 200 within ${timeoutMs / 1000} s`);
}
