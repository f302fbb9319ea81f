/**
 * The chaos run: `npm start` on a fresh data folder, N clients driving transfers (same currency
 * and FX) and payouts through it, and, spread over the load, one fault after another (chaos/faults.ts),
 * each measured to recovery; then, once every movement has settled, the money checked
 * (chaos/checks.ts). Bounded in count and time; everything on loopback.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDb } from '../src/db/knex';
import type { RailControls } from '../stack/rail/server';
import { apiClient, fxFixtures, payoutFixtures, sameCurrencyFixtures, setRailControls, type ApiClient, type Movement } from '../harness/api';
import { sleep } from '../harness/timing';
import { startStack, type Stack } from '../harness/stack';
import { checkMoney, settle, type MoneyFigures } from './checks';
import { startLoad, tally, type Load, type MovementKind, type PoolItem } from './clients';
import { FAULT_KINDS, FAULT_LABELS, faultResult, injectFault, type FaultContext, type FaultKind, type FaultResult } from './faults';
import { sigkill, stackProcesses } from '../harness/processes';

export type ChaosOptions = {
  /** Movements submitted in all. */
  total: number;
  /** Clients submitting at the same time. */
  concurrency: number;
  /** The load and the faults stop here (then the movements settle and the money is checked). */
  timeLimitSeconds: number;
  /** Injected in this order, spread evenly over the load. */
  faults: FaultKind[];
  /** Kill → /ready 200 and kill → every movement in flight terminal must each take at most this. */
  recoveryBoundSeconds: number;
  /** After the load: how long every movement has to become terminal (payouts: their return window). */
  settleSeconds: number;
  /** The stack's data folder; by default a fresh one under the OS's temp folder, removed after. */
  dataDir?: string;
  keep?: boolean;
  say?: (message: string) => void;
};

export const DEFAULT_CHAOS_OPTIONS: ChaosOptions = {
  total: 300,
  concurrency: 8,
  timeLimitSeconds: 900,
  faults: [...FAULT_KINDS],
  recoveryBoundSeconds: 90,
  settleSeconds: 120,
};

/** Short payout timings, so payouts (and their return windows) end within the run. */
const PAYOUT_TIMING = { PAYOUT_RETURN_WINDOW_SECONDS: '5', PAYOUT_SETTLEMENT_CHECK_SECONDS: '2' };

export type ChaosResult = {
  startedAt: string;
  finishedAt: string;
  options: Omit<ChaosOptions, 'say'>;
  machine: { cpus: number; memoryGiB: number; node: string; platform: string };
  dataDir: string;
  load: { submitted: number; byKind: Record<string, number>; seconds: number; retries: Record<string, number>; timedOut: boolean };
  faults: FaultResult[];
  money?: MoneyFigures;
  /** Processes of the stack still alive after it was stopped (then killed). */
  leftoverPids: number[];
  failures: string[];
  passed: boolean;
};

/**
 * The simulated bank's behaviour per payout beneficiary, in turn: settled quickly; settled, then
 * returned within the return window; rejected (refunded); settled slowly (in flight across faults);
 * two transient 5xx first. Lost when the rail restarts with npm start: set again after each restart.
 */
const RAIL_BEHAVIOURS: RailControls[] = [
  { latency_ms: 20, settle_after_ms: 200 },
  { settle_after_ms: 200, return_after_ms: 1000 },
  { reject: 'account closed' },
  { latency_ms: 50, settle_after_ms: 1500 },
  { transient_failures: 2, settle_after_ms: 300 },
];

export async function runChaos(options: Partial<ChaosOptions> = {}): Promise<ChaosResult> {
  const opts: ChaosOptions = { ...DEFAULT_CHAOS_OPTIONS, ...options };
  const say = opts.say ?? ((m: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${m}\n`));
  const startedAt = new Date();
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'payments-chaos-'));
  fs.mkdirSync(dataDir, { recursive: true });
  fs.chmodSync(dataDir, 0o755); // the embedded cluster runs as the postgres user when we are root
  const failures: string[] = [];
  const faults: FaultResult[] = [];
  let money: MoneyFigures | undefined;
  let load: Load | undefined;
  let loadSeconds = 0;
  let timedOut = false;
  let stack: Stack | undefined;
  let leftoverPids: number[] = [];

  try {
    // Everything npm start runs itself (no DATABASE_URL, TEMPORAL_ADDRESS or RAIL_URL from outside): those are what is killed.
    const current = await startStack({ dataDir, env: { DATABASE_URL: '', TEMPORAL_ADDRESS: '', RAIL_URL: '', PUBLIC_API_URL: '', ...PAYOUT_TIMING } });
    stack = current;
    for (const url of [stack.apiUrl, stack.railUrl, `http://${stack.temporalAddress}`]) assertLoopback(url);
    const api = apiClient(stack.apiUrl, stack.adminKey, opts.concurrency + 4, { timeoutMs: 30_000 });
    try {
      const pool = await fixtures(api, stack.railUrl, opts.concurrency);
      // The faults are recorded as they are injected: a run that stops half-way still reports them.
      const run = await loadWithFaults(current, api, pool, opts, { say, faults });
      ({ load, loadSeconds, timedOut } = run);
      money = await settleAndCheck(current, run.load, opts, say);
    } finally {
      await api.close();
    }
  } catch (err) {
    failures.push(`the run stopped: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    if (stack) {
      await stack.stop();
      leftoverPids = await leftovers(dataDir);
    }
    if (!opts.keep && !opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    else say(`data and the stack's log (stack.log) kept in ${dataDir}`);
  }

  for (const f of faults) if (f.problem) failures.push(`${f.label}: ${f.problem}`);
  for (const c of money?.checks ?? []) if (!c.ok) failures.push(`${c.name}: ${c.figure}`);
  if (timedOut) failures.push(`the load did not finish within the time limit (${opts.timeLimitSeconds} s)`);
  if (leftoverPids.length) failures.push(`processes left running after the stack stopped: ${leftoverPids.join(', ')}`);
  const { say: _say, ...recorded } = opts;
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: recorded,
    machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
    dataDir,
    load: {
      submitted: load?.outcomes.length ?? 0,
      byKind: tally(load?.outcomes ?? [], (o) => o.kind),
      seconds: loadSeconds,
      retries: load?.retries ?? {},
      timedOut,
    },
    faults,
    money,
    leftoverPids,
    failures,
    passed: failures.length === 0,
  };
}

/** One fixture (its own funded source) per client and kind, interleaved: transfer, payout, FX transfer, … */
async function fixtures(api: ReturnType<typeof apiClient>, railUrl: string, n: number): Promise<PoolItem[]> {
  const kinds: Array<[MovementKind, Movement[]]> = [
    ['transfer', await sameCurrencyFixtures(api, n)],
    ['payout', await payoutFixtures(api, railUrl, n, (i) => RAIL_BEHAVIOURS[i % RAIL_BEHAVIOURS.length] as RailControls)],
    ['fx_transfer', await fxFixtures(api, n)],
  ];
  return Array.from({ length: n }, (_, i) => kinds.map(([kind, movements]) => ({ kind, movement: movements[i] as Movement }))).flat();
}

function notRun(kind: FaultKind): FaultResult {
  return { ...faultResult(kind), problem: 'not run: the time limit was reached first' };
}

/** After the stack was stopped: every process of it must be gone (one that is not is reported, and SIGKILLed). */
async function leftovers(dataDir: string): Promise<number[]> {
  await sleep(500);
  const pids = await stackProcesses(dataDir);
  for (const pid of pids) sigkill(pid);
  return pids;
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['localhost', '127.0.0.1', '[::1]', '::1'].includes(host)) throw new Error(`chaos runs on loopback only, and ${url} is not`);
}

/**
 * The clients' load, with each fault injected once its share of the movements has started: fault i
 * once (i + 1)/(faults + 1) of them were; the clients wait at that mark until it is injected, so
 * the last ones started are in flight. Stops at the time limit.
 */
async function loadWithFaults(stack: Stack, api: ApiClient, pool: PoolItem[], opts: ChaosOptions, out: { say: (m: string) => void; faults: FaultResult[] }) {
  const { say, faults } = out;
  const payouts = pool.filter((p) => p.movement.rail).map((p) => p.movement.rail as NonNullable<Movement['rail']>);
  // The rail keeps its controls in memory: after chaos restarted npm start (and with it the rail), set them again.
  const afterRestart = async () => {
    await Promise.all(payouts.map((p) => setRailControls(stack.railUrl, p.account, p.controls))).catch((err: unknown) => say(`could not set the rail's controls again: ${String(err)}`));
  };
  let timedOut = false;
  const abort = new AbortController();
  const limit = setTimeout(() => {
    timedOut = true;
    say(`time limit (${opts.timeLimitSeconds} s) reached: clients stop`);
    abort.abort(new Error('the run reached its time limit'));
  }, opts.timeLimitSeconds * 1000);
  const loadStarted = performance.now();
  say(`load: ${opts.total} movements at ${opts.concurrency} concurrent; faults: ${opts.faults.map((f) => FAULT_LABELS[f]).join(', ') || 'none'}`);
  const dueAt = (i: number) => (i < opts.faults.length ? Math.max(1, Math.round(((i + 1) * opts.total) / (opts.faults.length + 1))) : opts.total);
  let released = dueAt(0);
  const load = startLoad({ apis: [api], pool, total: opts.total, concurrency: opts.concurrency, signal: abort.signal, released: () => released });
  const ctx: FaultContext = { stack, load, boundMs: opts.recoveryBoundSeconds * 1000, say, afterRestart };
  let loadSeconds: number;
  try {
    for (const [i, kind] of opts.faults.entries()) {
      while (!abort.signal.aborted && load.outcomes.length < dueAt(i)) await sleep(20);
      faults.push(abort.signal.aborted ? notRun(kind) : await injectFault(kind, ctx));
      released = dueAt(i + 1);
    }
    await load.done;
  } finally {
    clearTimeout(limit);
    loadSeconds = (performance.now() - loadStarted) / 1000;
  }
  say(`load: ${load.outcomes.length} movements submitted in ${loadSeconds.toFixed(1)} s; waiting for every one to settle`);
  return { load, loadSeconds, timedOut };
}

/** Waits for every movement to reach its end, then checks the money: ledger, balances, workflows. */
async function settleAndCheck(stack: Stack, load: Load, opts: ChaosOptions, say: (m: string) => void): Promise<MoneyFigures> {
  const db = createDb(await stack.databaseUrl(), 4);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  try {
    const temporal = new Client({ connection });
    await settle(db, temporal, load.outcomes, performance.now() + opts.settleSeconds * 1000, say);
    return await checkMoney(db, temporal, load.outcomes);
  } finally {
    await connection.close();
    await db.destroy();
  }
}
