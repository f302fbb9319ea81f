import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions';

export type DevServerHandle = {
  address: string;
  uiUrl: string | undefined;
  stop: () => Promise<void>;
  pid: number | undefined;
  /** Settles when the server process exits (for supervision). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const SEARCH_ATTRIBUTE_TYPE: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', BOOL: 'Bool' };

/** `--search-attribute Name=Type` flags for every custom attribute the workflows use. */
export function searchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${SEARCH_ATTRIBUTE_TYPE[key.type] ?? key.type}`]);
}

/**
 * Runs `temporal server start-dev` as a child process with its state in a SQLite file, so a restart
 * keeps workflow history, and the Web UI on `uiPort`.
 */
export async function startDevServer(opts: {
  cliPath: string;
  /** SQLite file for the server's state; omitted, state lives in memory (tests). */
  dbFile?: string;
  port: number;
  /** Web UI port; omitted, the server runs headless. */
  uiPort?: number;
  namespace: string;
  log?: (line: string) => void;
  /** Receives the stop function (and pid) as soon as the process exists, so a shutdown during start-up stops it too. */
  onSpawn?: (stop: () => Promise<void>, pid: number | undefined) => void;
}): Promise<DevServerHandle> {
  if (opts.dbFile) fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
  const args = [
    'server', 'start-dev',
    ...(opts.dbFile ? ['--db-filename', path.resolve(opts.dbFile)] : []),
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    ...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']),
    '--namespace', opts.namespace,
    '--log-level', 'warn',
    // One partition per task queue: partitions spread a queue over matching hosts, and this server
    // is one host. With the default four, a task waits in a partition no poller happens to be on,
    // so under load some workflow tasks waited seconds longer than others (p99 7 s vs 3.5 s).
    '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
    ...searchAttributeFlags(),
  ];
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  stopWithParent(child);
  opts.onSpawn?.(() => stopChild(child), child.pid);
  const log = opts.log ?? (() => undefined);
  let output = '';
  const capture = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log(line);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const address = `127.0.0.1:${opts.port}`;
  await waitUntilReady(child, address, opts.namespace, () => output);
  return {
    address,
    uiUrl: opts.uiPort ? `http://localhost:${opts.uiPort}` : undefined,
    stop: () => stopChild(child),
    pid: child.pid,
    exited,
  };
}

async function waitUntilReady(child: ChildProcess, address: string, namespace: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`temporal server start-dev exited during start-up:\n${output()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await stopChild(child);
  throw new Error(`Temporal dev server did not become ready on ${address}:\n${output()}`);
}

/** If this process exits before stopping the child (killed, or forced by a second Ctrl-C), the child is asked to stop too. */
export function stopWithParent(child: ChildProcess): void {
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
}

export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
