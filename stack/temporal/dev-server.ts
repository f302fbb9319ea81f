import fs from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../../workflows/contract';
import { spawnServerProcess, stopChild, waitForFrontend, type TemporalServerHandle } from './process';

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
}): Promise<TemporalServerHandle> {
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
  const server = spawnServerProcess(opts.cliPath, args, { log: opts.log, onSpawn: opts.onSpawn });
  const address = `127.0.0.1:${opts.port}`;
  await waitForFrontend(server, address, 'temporal server start-dev', (connection) => connection.workflowService.describeNamespace({ namespace: opts.namespace }));
  return {
    address,
    uiUrl: opts.uiPort ? `http://localhost:${opts.uiPort}` : undefined,
    stop: () => stopChild(server.child),
    pid: server.child.pid,
    exited: server.exited,
  };
}
