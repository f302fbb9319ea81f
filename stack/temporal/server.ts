/**
 * The Temporal server itself (go.temporal.io/server), the engine a deployment runs: its state in
 * PostgreSQL (two databases, set up and upgraded with the server's own schema tool), each of its
 * services (frontend, history, matching, worker) in one process here. `TEMPORAL_ENGINE=server`
 * makes npm start run it instead of the CLI's dev server; the replicas chaos run and
 * `npm run bench -- --engine server` run on it too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { SEARCH_ATTRIBUTES } from '../../workflows/contract';
import { databaseUrlOn, withPgClient } from '../../src/db/pg-client';
import { isPortFree } from '../net';
import { ensureGoProgram, type GoProgram } from './go-install';
import { spawnServerProcess, stopChild, waitForFrontend, type TemporalServerHandle } from './process';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';

const run = promisify(execFile);

/** The server release the Temporal CLI v1.5.1 embeds, so both builds share Go's compiled packages. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

export const TEMPORAL_SERVER: GoProgram = {
  label: 'the Temporal server',
  module: 'go.temporal.io/server/cmd/server',
  version: TEMPORAL_SERVER_VERSION,
  binary: 'server',
  cacheName: 'temporal-server',
};

/** temporal-sql-tool: creates the databases and applies the versioned schema it carries (schema/postgresql/v12 in the module). */
export const TEMPORAL_SQL_TOOL: GoProgram = { ...TEMPORAL_SERVER, label: "the Temporal server's schema tool", module: 'go.temporal.io/server/cmd/tools/sql', binary: 'sql' };

const SQL_PLUGIN = 'postgres12';

/**
 * Shards split a namespace's workflows over history hosts; their number is fixed when the
 * databases are set up and cannot change afterwards. 4 suits one to a few history hosts (the
 * module's own development-postgres12 config); a cluster planned for many hosts sets up with more.
 */
const HISTORY_SHARDS = 4;

/** How long closed workflows stay in Temporal (the UI, `npm run temporal`); the ledger keeps every payment for good. */
const RETENTION_MS = 30 * 24 * 3600 * 1000;

/** Namespace and search-attribute changes reach every service within this (system.namespaceCacheRefreshInterval). */
const NAMESPACE_CACHE_REFRESH = '1s';

export type TemporalServerPrograms = { server: string; sqlTool: string };

/** The server and its schema tool, from the build cache or built now with `go install` (a few minutes, once per machine). */
export async function ensureTemporalServer(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<TemporalServerPrograms> {
  const alternatives = 'or set TEMPORAL_ADDRESS to a Temporal server you run';
  return { server: await ensureGoProgram(TEMPORAL_SERVER, log, alternatives), sqlTool: await ensureGoProgram(TEMPORAL_SQL_TOOL, log, alternatives) };
}

export type TemporalServerDatabases = { main: string; visibility: string };
export const DEFAULT_TEMPORAL_DATABASES: TemporalServerDatabases = { main: 'temporal', visibility: 'temporal_visibility' };

/** Every port the server listens on, chosen once so that a restart comes back on the same ones. */
export type TemporalServerPorts = Record<'frontend' | 'frontendHttp' | 'frontendMembership' | 'history' | 'historyMembership' | 'matching' | 'matchingMembership' | 'worker' | 'workerMembership' | 'metrics', number>;

export async function temporalServerPorts(frontend: number): Promise<TemporalServerPorts> {
  const taken = new Set<number>([frontend]);
  const next = async () => {
    const port = await freePortBelowEphemeral(taken);
    taken.add(port);
    return port;
  };
  return {
    frontend,
    frontendHttp: await next(),
    frontendMembership: await next(),
    history: await next(),
    historyMembership: await next(),
    matching: await next(),
    matchingMembership: await next(),
    worker: await next(),
    workerMembership: await next(),
    metrics: await next(),
  };
}

/**
 * Ports below the OS's ephemeral range (which starts at 32768): there no outgoing connection takes
 * one by chance, so a restarted server finds its ports free again. And the server records each
 * host's membership port in cluster_membership.rpc_port, a smallint: a port above 32767 stops it.
 */
async function freePortBelowEphemeral(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + randomInt(12_768);
    if (!taken.has(port) && (await isPortFree(port))) return port;
  }
  throw new Error('no free port between 20000 and 32767 for the Temporal server');
}

export type TemporalServerOptions = {
  programs: TemporalServerPrograms;
  /** The PostgreSQL that holds the server's two databases; its user must be allowed to create databases. */
  databaseUrl: string;
  databases?: TemporalServerDatabases;
  /** Where the server's configuration files are written. */
  stateDir: string;
  ports: TemporalServerPorts;
  namespace: string;
  log?: (line: string) => void;
  onSpawn?: (stop: () => Promise<void>, pid: number | undefined) => void;
};

/**
 * Sets up (or upgrades) the server's databases, starts the server and waits until `namespace`
 * exists with the workflows' search attributes, visible to every service.
 */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServerHandle & { metricsUrl: string }> {
  const databases = opts.databases ?? DEFAULT_TEMPORAL_DATABASES;
  await prepareTemporalDatabases(opts.programs.sqlTool, opts.databaseUrl, databases);
  await forgetDeadHosts(opts.databaseUrl, databases.main);
  const configDir = writeServerConfig(opts, databases);
  // Absolute: npm start recognises a leftover server by this folder in its command line (src/supervision/leftovers.ts).
  const server = spawnServerProcess(opts.programs.server, ['--root', path.resolve(opts.stateDir), '--config', path.relative(opts.stateDir, configDir), '--env', 'payments', '--allow-no-auth', 'start'], {
    log: opts.log,
    onSpawn: opts.onSpawn,
  });
  const address = `127.0.0.1:${opts.ports.frontend}`;
  await waitForFrontend(server, address, 'the Temporal server', async (connection) => {
    await ensureNamespace(connection, opts.namespace);
    await ensureSearchAttributes(connection, opts.namespace);
    await searchAttributesUsable(connection, opts.namespace);
  }, 120_000);
  return {
    address,
    uiUrl: undefined,
    stop: () => stopChild(server.child),
    pid: server.child.pid,
    exited: server.exited,
    metricsUrl: `http://127.0.0.1:${opts.ports.metrics}/metrics`,
  };
}

/**
 * What the schema tool does for a new cluster, and again on every start so that a newer server
 * finds its schema upgraded: create each database if missing, set up the schema's version table if
 * missing, then apply every versioned schema change not applied yet (the tool skips applied ones).
 */
export async function prepareTemporalDatabases(sqlTool: string, databaseUrl: string, databases: TemporalServerDatabases): Promise<void> {
  const url = new URL(databaseUrl);
  const env = {
    ...process.env,
    SQL_PLUGIN,
    SQL_HOST: url.hostname,
    SQL_PORT: url.port || '5432',
    SQL_USER: decodeURIComponent(url.username),
    // In the environment, not on the command line, where `ps` would show it.
    SQL_PASSWORD: decodeURIComponent(url.password),
  };
  const tool = async (database: string, args: string[]) => {
    try {
      await run(sqlTool, ['--db', database, ...args], { env });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-5).join('\n')}`, { cause: err });
    }
  };
  for (const [database, schema] of [
    [databases.main, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ] as const) {
    if (!(await databaseExists(databaseUrl, database))) await tool(database, ['create-database', '--defaultdb', url.pathname.slice(1) || 'postgres']);
    if (!(await hasSchemaVersionTable(databaseUrl, database))) await tool(database, ['setup-schema', '--version', '0.0']);
    await tool(database, ['update-schema', '--schema-name', schema]);
  }
}

/**
 * This process is the cluster's only host, so every membership row left in the database belongs to
 * a host that is gone (a crash, a SIGKILL). Left there, the new services try to join them first:
 * ringpop's join ran past its 30 s limit and was retried, and workflow tasks waited 45-55 s after a
 * restart for a matching host ("Not enough hosts to serve the request"). Without them it joins in
 * about a second, as on a first start.
 */
async function forgetDeadHosts(databaseUrl: string, database: string): Promise<void> {
  await withPgClient(databaseUrlOn(databaseUrl, database), (c) => c.query('DELETE FROM cluster_membership'));
}

function databaseExists(databaseUrl: string, database: string): Promise<boolean> {
  return withPgClient(databaseUrl, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1);
}

function hasSchemaVersionTable(databaseUrl: string, database: string): Promise<boolean> {
  return withPgClient(databaseUrlOn(databaseUrl, database), async (c) => (await c.query(`SELECT to_regclass('schema_version') IS NOT NULL AS present`)).rows[0].present === true);
}

/**
 * The module's config/development-postgres12.yaml, with this cluster's ports and databases, logs at
 * warn on stdout, no archival, and Prometheus metrics on a port of their own. Written as JSON,
 * which YAML reads as it is.
 */
function writeServerConfig(opts: TemporalServerOptions, databases: TemporalServerDatabases): string {
  const url = new URL(opts.databaseUrl);
  const configDir = path.join(opts.stateDir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: SQL_PLUGIN,
      databaseName,
      connectAddr: `${url.hostname}:${url.port || '5432'}`,
      connectProtocol: 'tcp',
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, number> = {}) => ({ rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra } });
  const { ports } = opts;
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: HISTORY_SHARDS,
      datastores: { 'postgres-default': datastore(databases.main, 20), 'postgres-visibility': datastore(databases.visibility, 4) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${ports.metrics}` } },
    },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      history: service(ports.history, ports.historyMembership),
      matching: service(ports.matching, ports.matchingMembership),
      worker: service(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: path.join(configDir, 'dynamic-config.yaml'), pollInterval: '10s' },
  };
  // Keys as the module's config/dynamicconfig/development-sql.yaml sets them, plus our own.
  const setting = (value: unknown) => [{ value, constraints: {} }];
  const dynamicConfig = {
    'limit.maxIDLength': setting(255),
    'frontend.enableExecuteMultiOperation': setting(true),
    'frontend.enableUpdateWorkflowExecution': setting(true),
    'system.namespaceCacheRefreshInterval': setting(NAMESPACE_CACHE_REFRESH),
    // As for the dev server (src/temporal/dev-server.ts): one matching host here, so one partition per task queue.
    'matching.numTaskqueueReadPartitions': setting(1),
    'matching.numTaskqueueWritePartitions': setting(1),
  };
  fs.writeFileSync(path.join(configDir, 'payments.yaml'), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  fs.writeFileSync(path.join(configDir, 'dynamic-config.yaml'), JSON.stringify(dynamicConfig, null, 2) + '\n');
  return configDir;
}

async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if ((err as { code?: number }).code !== 5 /* NOT_FOUND */) throw err;
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION_MS) })
      .catch((e: { code?: number }) => {
        if (e.code !== 6 /* ALREADY_EXISTS: another start registered it first */) throw e;
      });
  }
}

/**
 * Every service sees the namespace and its search attributes (after the namespace cache refreshed):
 * a visibility query naming one succeeds only then.
 */
async function searchAttributesUsable(connection: Connection, namespace: string): Promise<void> {
  const [first] = SEARCH_ATTRIBUTES;
  await connection.workflowService.countWorkflowExecutions({ namespace, query: first ? `${first.name} = 'readiness-probe'` : '' });
}
