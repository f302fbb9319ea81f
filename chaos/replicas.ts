/**
 * The replicas run (`npm run chaos -- --scenario replicas`): the deployment's shape on one machine,
 * on the production engine. One PostgreSQL (DATABASE_URL's server, or an embedded one) holds the ledger and the
 * Temporal server's two databases; the Temporal server itself (src/temporal/server.ts); the
 * simulated rail; two API processes and two worker processes, each started as `npm run api` and
 * `npm run worker` start them. Clients drive transfers (same currency and FX) through both APIs in
 * turn. A third of the way in, one worker is SIGKILLed, at a moment when it holds running workflows,
 * and is not restarted: the other must finish them. Then every transfer must have completed
 * exactly once (chaos/checks.ts), and the workflows' histories must show both workers at work
 * and the survivor finishing workflows the killed one had started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startEmbeddedPostgres } from '../stack/postgres/embedded-postgres';
import { createDb, type Db } from '../src/db/knex';
import { databaseUrlOn, withPgClient } from '../src/db/pg-client';
import { migrateLatest } from '../src/db/migrator';
import { freePort } from '../stack/net';
import { isAlive } from '../stack/processes';
import { startRailProcess, type RailProcess } from '../stack/rail/process';
import { stopChild, stopWithParent } from '../stack/temporal/process';
import { DEFAULT_TEMPORAL_DATABASES, ensureTemporalServer, startTemporalServer, temporalServerPorts, TEMPORAL_SERVER_VERSION, type TemporalServerDatabases } from '../stack/temporal/server';
import { TERMINAL_STATUSES } from '../workflows/contract';
import { workerIsPolling } from '../worker/healthcheck';
import { apiClient, fxFixtures, sameCurrencyFixtures, type ApiClient, type Movement } from '../harness/api';
import { sleep } from '../harness/timing';
import { checkMoney, settle, type Check, type MoneyFigures } from './checks';
import { startLoad, tally, whenAllEnded, type Load, type PoolItem } from './clients';
import { waitGone } from '../harness/processes';

const ROOT = path.resolve(__dirname, '..');
/** Each role's entry point, as the image runs it (compiled) and `npm run api` / `npm run worker` run it. */
const ROLE_ENTRY = { api: 'src/api/main.ts', worker: 'worker/main.ts' } as const;
const NAMESPACE = 'default';
const TASK_QUEUE = 'payments';

export type ReplicasOptions = {
  /** Transfers submitted in all, alternately through the two APIs. */
  total: number;
  concurrency: number;
  /** The load stops here (then the transfers settle and the money is checked). */
  timeLimitSeconds: number;
  /** After the load: how long every transfer has to become terminal. */
  settleSeconds: number;
  /** A PostgreSQL server for the run's three databases (fresh ones, dropped after); by default an embedded one in the run's folder. */
  databaseUrl?: string;
  dataDir?: string;
  keep?: boolean;
  say?: (message: string) => void;
};

export const DEFAULT_REPLICAS_OPTIONS: ReplicasOptions = { total: 200, concurrency: 8, timeLimitSeconds: 600, settleSeconds: 120 };

type RoleProcess = { role: 'api' | 'worker'; name: string; child: ChildProcess; pid: number; identity: string; url?: string; stop: () => Promise<void> };

export type ReplicasResult = {
  startedAt: string;
  finishedAt: string;
  options: Omit<ReplicasOptions, 'say'>;
  machine: { cpus: number; memoryGiB: number; node: string };
  engine: string;
  dataDir: string;
  load: { submitted: number; byKind: Record<string, number>; byApi: Record<string, number>; seconds: number; retries: Record<string, number>; timedOut: boolean };
  kill?: { worker: string; pid: number; atSubmitted: number; inFlight: number; heldRunning: number; inFlightEndedSeconds: number | null };
  /** From the histories: workflows each worker ran tasks of, and those the killed worker started and the survivor finished. */
  takeover?: { workflowsByWorker: Record<string, number>; handedOver: number };
  money?: MoneyFigures;
  checks: Check[];
  leftoverPids: number[];
  failures: string[];
  passed: boolean;
};

export async function runReplicas(options: Partial<ReplicasOptions> = {}): Promise<ReplicasResult> {
  const opts: ReplicasOptions = { ...DEFAULT_REPLICAS_OPTIONS, ...options };
  const say = opts.say ?? ((m: string) => process.stderr.write(`[replicas ${new Date().toISOString().slice(11, 19)}] ${m}\n`));
  const startedAt = new Date();
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'payments-replicas-'));
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o755); // the embedded cluster runs as the postgres user when we are root
  const result: ReplicasResult = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    options: (({ say: _say, ...rest }) => rest)(opts),
    machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    engine: `Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL`,
    dataDir,
    load: { submitted: 0, byKind: {}, byApi: {}, seconds: 0, retries: {}, timedOut: false },
    checks: [],
    leftoverPids: [],
    failures: [],
    passed: false,
  };
  const stops: Array<() => Promise<void>> = [];
  const pids: number[] = [];
  try {
    const cluster = await startCluster(opts, dataDir, { stops, pids }, say);
    const { db, apis } = cluster;
    const clients = apis.map((a) => apiClient(a.url as string, cluster.adminKey, opts.concurrency + 4, { timeoutMs: 30_000 }));
    try {
      const pool = await transferPool(clients[0] as ApiClient, opts.concurrency);
      const load = await loadWithKill(cluster, clients, pool, opts, result, say);
      await settle(db, cluster.temporalClient, load.outcomes, performance.now() + opts.settleSeconds * 1000, say);
      result.money = await checkMoney(db, cluster.temporalClient, load.outcomes);
      result.takeover = await takeover(db, cluster.temporalClient, load.outcomes.map((o) => o.key), cluster.victim.identity, cluster.survivor.identity);
      result.checks = [await everyTransferCompleted(db, load), ...replicaChecks(result, load, [cluster.victim, cluster.survivor])];
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  } catch (err) {
    result.failures.push(`the run stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => say(`a stop step failed: ${String(err)}`));
    await sleep(300);
    result.leftoverPids = pids.filter(isAlive);
    for (const pid of result.leftoverPids) process.kill(pid, 'SIGKILL');
    if (!opts.keep && !opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    else say(`data and every process's log kept in ${dataDir}`);
  }
  for (const c of [...result.checks, ...(result.money?.checks ?? [])]) if (!c.ok) result.failures.push(`${c.name}: ${c.figure}`);
  if (result.load.timedOut) result.failures.push(`the load did not finish within the time limit (${opts.timeLimitSeconds} s)`);
  if (result.leftoverPids.length) result.failures.push(`processes left running after the run stopped: ${result.leftoverPids.join(', ')}`);
  result.finishedAt = new Date().toISOString();
  result.passed = result.failures.length === 0;
  return result;
}

type RunDatabases = { url: string; temporalDatabases: TemporalServerDatabases; pid: number | undefined; stop: () => Promise<void> };

/**
 * The ledger's database and the Temporal server's two: on `serverUrl`'s server under fresh names
 * (dropped after), or in an embedded cluster in the run's folder.
 */
async function runDatabases(serverUrl: string | undefined, dataDir: string): Promise<RunDatabases> {
  if (!serverUrl) {
    const embedded = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), database: 'payments', throwaway: true });
    return { url: embedded.url, temporalDatabases: DEFAULT_TEMPORAL_DATABASES, pid: embedded.pid, stop: embedded.stop };
  }
  const name = `replicas_${randomBytes(6).toString('hex')}`;
  const names = [name, `${name}_temporal`, `${name}_temporal_visibility`];
  const admin = (statements: string[]) =>
    withPgClient(serverUrl, async (client) => {
      for (const sql of statements) await client.query(sql);
    });
  await admin([`CREATE DATABASE ${name}`]);
  return {
    url: databaseUrlOn(serverUrl, name),
    temporalDatabases: { main: names[1] as string, visibility: names[2] as string },
    pid: undefined,
    stop: () => admin(names.map((n) => `DROP DATABASE IF EXISTS ${n} WITH (FORCE)`)),
  };
}

/** One source account per client and kind, interleaved: a same-currency transfer, an FX transfer with a fee, … */
async function transferPool(api: ApiClient, n: number): Promise<PoolItem[]> {
  const same = await sameCurrencyFixtures(api, n);
  const fx = await fxFixtures(api, n);
  return Array.from({ length: n }, (_, i) => [
    { kind: 'transfer' as const, movement: same[i] as Movement },
    { kind: 'fx_transfer' as const, movement: fx[i] as Movement },
  ]).flat();
}

/**
 * One role as `npm run api` / `npm run worker` runs it (`tsx src/api/main.ts`, `tsx worker/main.ts`), spawned as node
 * itself so that the pid is the process that serves (and the worker's identity `<pid>@<host>`).
 */
async function startRole(role: 'api' | 'worker', name: string, shared: Record<string, string>, dataDir: string): Promise<RoleProcess> {
  const port = await freePort();
  const env = {
    ...(process.env as Record<string, string>),
    ...shared,
    PORT: String(port),
    METRICS_PORT: String(await freePort()),
    TEMPORAL_METRICS_PORT: String(await freePort()),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, ROLE_ENTRY[role])], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  stopWithParent(child);
  const log = fs.createWriteStream(path.join(dataDir, `${name}.log`));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const pid = child.pid as number;
  const proc: RoleProcess = { role, name, child, pid, identity: `${pid}@${os.hostname()}`, stop: () => stopChild(child) };
  if (role === 'api') {
    proc.url = `http://127.0.0.1:${port}`;
    await untilReady(child, name, proc.url);
  }
  return proc;
}

async function untilReady(child: ChildProcess, name: string, url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode})`);
    const status = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`${name}: ${url}/ready did not answer 200 within ${timeoutMs / 1000} s`);
}

/** Until the Temporal server has seen this worker poll both its workflow and activity tasks. */
async function waitPolling(worker: RoleProcess, address: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) throw new Error(`${worker.name} exited during start-up`);
    if (await workerIsPolling({ address, namespace: NAMESPACE, taskQueue: TASK_QUEUE, identity: worker.identity }).catch(() => false)) return;
    await sleep(300);
  }
  throw new Error(`${worker.name} was not polling ${TASK_QUEUE} within ${timeoutMs / 1000} s`);
}

/**
 * Waits (up to `timeoutMs`) until some running transfer workflow's last task ran on `identity`: its
 * next task goes to that worker's sticky queue, so killing it then leaves the other worker
 * something to take over. Returns how many such workflows there were (0 if none came in time).
 */
async function untilHoldingRunningWorkflows(db: Db, temporal: Client, identity: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = (await db('transfers').whereNotIn('status', [...TERMINAL_STATUSES]).select('workflow_id')) as Array<{ workflow_id: string }>;
    const held = await Promise.all(open.map((r) => workerIdentities(temporal, r.workflow_id).then((ids) => ids.at(-1) === identity)));
    const count = held.filter(Boolean).length;
    if (count > 0 || Date.now() > deadline) return count;
    await sleep(50);
  }
}

/** The identities of the workers that started this workflow's tasks, in history order. */
async function workerIdentities(temporal: Client, workflowId: string): Promise<string[]> {
  const history = await temporal.workflow
    .getHandle(workflowId)
    .fetchHistory()
    .catch(() => ({ events: [] }));
  return (history.events ?? []).flatMap((e) => {
    const identity = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
    return identity ? [identity] : [];
  });
}

/** Per worker, the workflows it ran tasks of; and how many the killed one started and the survivor finished. */
async function takeover(db: Db, temporal: Client, keys: string[], victim: string, survivor: string): Promise<NonNullable<ReplicasResult['takeover']>> {
  const rows = (await db('transfers').whereIn('idempotency_key', keys).select('workflow_id')) as Array<{ workflow_id: string }>;
  const workflowsByWorker: Record<string, number> = {};
  let handedOver = 0;
  for (let i = 0; i < rows.length; i += 16) {
    const batch = await Promise.all(rows.slice(i, i + 16).map((r) => workerIdentities(temporal, r.workflow_id)));
    for (const identities of batch) {
      for (const id of new Set(identities)) workflowsByWorker[id] = (workflowsByWorker[id] ?? 0) + 1;
      const firstVictim = identities.indexOf(victim);
      if (firstVictim >= 0 && identities.slice(firstVictim).includes(survivor)) handedOver++;
    }
  }
  return { workflowsByWorker, handedOver };
}

function replicaChecks(result: ReplicasResult, load: Load, [victim, survivor]: [RoleProcess, RoleProcess]): Check[] {
  const byApi = Object.entries(result.load.byApi);
  const by = result.takeover?.workflowsByWorker ?? {};
  const answeredBy = (via: number) => load.outcomes.filter((o) => o.via === via && o.id !== undefined).length;
  return [
    { name: 'both APIs answered transfers', ok: byApi.length === 2 && answeredBy(0) > 0 && answeredBy(1) > 0, figure: byApi.map(([api, n]) => `${api} ${n}`).join(', ') },
    {
      name: 'both workers ran workflows',
      ok: (by[victim.identity] ?? 0) > 0 && (by[survivor.identity] ?? 0) > 0,
      figure: `${victim.name} ${by[victim.identity] ?? 0}, ${survivor.name} ${by[survivor.identity] ?? 0}`,
    },
    {
      name: `${survivor.name} finished workflows ${victim.name} held when killed`,
      ok: (result.kill?.heldRunning ?? 0) > 0 && (result.takeover?.handedOver ?? 0) > 0,
      figure: `${result.takeover?.handedOver ?? 0} handed over (${result.kill?.heldRunning ?? 0} running on it at the kill)`,
    },
  ];
}

function lineLogger(file: string): (line: string) => void {
  const stream = fs.createWriteStream(file, { flags: 'a' });
  return (line) => stream.write(`${line}\n`);
}

type Resources = { stops: Array<() => Promise<void>>; pids: number[] };
type Cluster = Awaited<ReturnType<typeof startCluster>>;

/**
 * PostgreSQL (the ledger's database and the Temporal server's two), the Temporal server, the rail,
 * and two APIs and two workers as docker-compose runs them; ready once both workers poll.
 */
async function startCluster(opts: ReplicasOptions, dataDir: string, resources: Resources, say: (m: string) => void) {
  const own = (stop: () => Promise<void>, pid: number | undefined) => {
    resources.stops.push(stop);
    if (pid) resources.pids.push(pid);
  };
  const postgres = await runDatabases(opts.databaseUrl, dataDir);
  own(postgres.stop, postgres.pid);
  const db = createDb(postgres.url, 4);
  resources.stops.push(() => db.destroy());
  await migrateLatest(db);

  say(`starting the Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL`);
  const programs = await ensureTemporalServer(say);
  const temporal = await startTemporalServer({
    programs,
    databaseUrl: postgres.url,
    databases: postgres.temporalDatabases,
    stateDir: path.join(dataDir, 'temporal-server'),
    ports: await temporalServerPorts(await freePort()),
    namespace: NAMESPACE,
    log: lineLogger(path.join(dataDir, 'temporal-server.log')),
  });
  own(temporal.stop, temporal.pid);
  const callbackSecret = `rail_${randomBytes(16).toString('hex')}`;
  const rail: RailProcess = await startRailProcess({ callbackSecret, log: lineLogger(path.join(dataDir, 'rail.log')) });
  own(rail.stop, rail.pid);

  const adminKey = `sk_replicas_${randomBytes(16).toString('hex')}`;
  say('starting two API processes and two worker processes');
  const shared = replicaEnvironment({ databaseUrl: postgres.url, temporalAddress: temporal.address, railUrl: rail.url, callbackSecret, adminKey });
  const roles = await Promise.all([startRole('api', 'api-1', shared, dataDir), startRole('api', 'api-2', shared, dataDir), startRole('worker', 'worker-1', shared, dataDir), startRole('worker', 'worker-2', shared, dataDir)]);
  for (const role of roles) own(role.stop, role.pid);
  const apis = roles.filter((r) => r.role === 'api');
  const [victim, survivor] = roles.filter((r) => r.role === 'worker') as [RoleProcess, RoleProcess];
  await Promise.all([victim, survivor].map((w) => waitPolling(w, temporal.address)));
  say(`ready: APIs ${apis.map((a) => a.url).join(', ')}; workers ${victim.identity}, ${survivor.identity}`);
  const connection = await Connection.connect({ address: temporal.address });
  resources.stops.push(() => connection.close());
  return { db, adminKey, apis, victim, survivor, temporalClient: new Client({ connection, namespace: NAMESPACE }) };
}

/** What docker-compose gives each replica (docker-compose.yml), with loopback addresses. */
function replicaEnvironment(c: { databaseUrl: string; temporalAddress: string; railUrl: string; callbackSecret: string; adminKey: string }): Record<string, string> {
  return {
    DATABASE_URL: c.databaseUrl,
    TEMPORAL_ADDRESS: c.temporalAddress,
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    RAIL_URL: c.railUrl,
    RAIL_CALLBACK_SECRET: c.callbackSecret,
    ADMIN_API_KEY: c.adminKey,
    LOG_FORMAT: 'json',
    // Capacity, not the rate limits: one admin key from 127.0.0.1 at full speed.
    RATE_LIMIT_PER_KEY: '1000000',
    RATE_LIMIT_PER_ADDRESS: '1000000',
  };
}

/**
 * The load through both APIs, with worker-1 SIGKILLed a third of the way in (so that plenty of load
 * is left to run into the kill; the clients never pause, so workflows are in flight when it comes).
 */
async function loadWithKill(cluster: Cluster, clients: ApiClient[], pool: PoolItem[], opts: ReplicasOptions, result: ReplicasResult, say: (m: string) => void): Promise<Load> {
  const abort = new AbortController();
  const limit = setTimeout(() => {
    result.load.timedOut = true;
    abort.abort(new Error('the run reached its time limit'));
  }, opts.timeLimitSeconds * 1000);
  const mark = Math.max(1, Math.floor(opts.total / 3));
  const loadStarted = performance.now();
  say(`load: ${opts.total} transfers at ${opts.concurrency} concurrent through both APIs; worker-1 is killed after ${mark}`);
  const load: Load = startLoad({ apis: clients, pool, total: opts.total, concurrency: opts.concurrency, signal: abort.signal, released: () => opts.total });
  try {
    while (!abort.signal.aborted && load.outcomes.length < mark) await sleep(20);
    if (!abort.signal.aborted) result.kill = await killWorker(cluster, load, opts, say);
    await load.done;
  } finally {
    clearTimeout(limit);
    result.load.seconds = (performance.now() - loadStarted) / 1000;
  }
  result.load.submitted = load.outcomes.length;
  result.load.byKind = tally(load.outcomes, (o) => o.kind);
  result.load.byApi = tally(load.outcomes, (o) => (cluster.apis[o.via] as RoleProcess).name);
  result.load.retries = load.retries;
  say(`load: ${load.outcomes.length} transfers submitted in ${result.load.seconds.toFixed(1)} s; waiting for every one to settle`);
  return load;
}

/** SIGKILLs the victim once it holds running workflows, and times how long its in-flight transfers take to end. */
async function killWorker(cluster: Cluster, load: Load, opts: ReplicasOptions, say: (m: string) => void): Promise<NonNullable<ReplicasResult['kill']>> {
  const { victim } = cluster;
  const heldRunning = await untilHoldingRunningWorkflows(cluster.db, cluster.temporalClient, victim.identity, 30_000);
  const inFlight = [...load.inFlight];
  const atSubmitted = load.outcomes.length;
  const killedAt = performance.now();
  victim.child.kill('SIGKILL');
  await waitGone(victim.pid);
  say(`killed ${victim.name} (pid ${victim.pid}) with ${inFlight.length} transfers in flight, ${heldRunning} of its workflows running`);
  const ended = await whenAllEnded(inFlight, killedAt + opts.settleSeconds * 1000);
  return { worker: victim.name, pid: victim.pid, atSubmitted, inFlight: inFlight.length, heldRunning, inFlightEndedSeconds: ended === undefined ? null : (ended - killedAt) / 1000 };
}

async function everyTransferCompleted(db: Db, load: Load): Promise<Check> {
  const rows = (await db('transfers').whereIn('idempotency_key', load.outcomes.map((o) => o.key)).select('status')) as Array<{ status: string }>;
  const notCompleted = rows.filter((r) => r.status !== 'completed');
  return { name: 'every transfer completed', ok: notCompleted.length === 0 && rows.length === load.outcomes.length, figure: `${rows.length - notCompleted.length}/${load.outcomes.length}`, ...(notCompleted.length ? { details: notCompleted.slice(0, 5) } : {}) };
}
