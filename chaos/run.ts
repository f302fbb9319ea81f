/**
 * `npm run chaos`: transfers and payouts under load while the worker and API, Postgres and the
 * Temporal server are killed in turn, then the money checked (see chaos/chaos.ts).
 *
 *   npm run chaos -- [--total 300] [--concurrency 8] [--time-limit 900] [--faults api,postgres,temporal,machine]
 *                    [--recovery-bound 90] [--settle 120] [--data-dir DIR] [--keep] [--out chaos-results.json]
 *
 * `--scenario replicas`: two API and two worker processes on the Temporal server itself with
 * PostgreSQL persistence, transfers through both APIs, one worker SIGKILLed mid-load (see
 * chaos/replicas.ts), on DATABASE_URL's server when set; --total (default 200), --concurrency, --time-limit, --settle, --data-dir,
 * --keep and --out apply.
 *
 * Each option can also come from the environment: CHAOS_TOTAL, CHAOS_CONCURRENCY,
 * CHAOS_TIME_LIMIT_SECONDS, CHAOS_FAULTS, CHAOS_RECOVERY_BOUND_SECONDS, CHAOS_SETTLE_SECONDS,
 * CHAOS_DATA_DIR, CHAOS_OUT, CHAOS_SCENARIO (a flag wins). Progress on stderr, the figures on stdout and in the JSON
 * file; exits 1 when a check fails or a fault did not recover within the bound.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CHAOS_OPTIONS, runChaos } from './chaos';
import { FAULT_KINDS, type FaultKind } from './faults';
import { DEFAULT_REPLICAS_OPTIONS, runReplicas } from './replicas';
import { renderChaosReport, renderReplicasReport } from './report';

const env = process.env;
const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: env.CHAOS_SCENARIO ?? 'faults' },
    total: { type: 'string', default: env.CHAOS_TOTAL },
    concurrency: { type: 'string', default: env.CHAOS_CONCURRENCY ?? String(DEFAULT_CHAOS_OPTIONS.concurrency) },
    'time-limit': { type: 'string', default: env.CHAOS_TIME_LIMIT_SECONDS ?? String(DEFAULT_CHAOS_OPTIONS.timeLimitSeconds) },
    faults: { type: 'string', default: env.CHAOS_FAULTS ?? DEFAULT_CHAOS_OPTIONS.faults.join(',') },
    'recovery-bound': { type: 'string', default: env.CHAOS_RECOVERY_BOUND_SECONDS ?? String(DEFAULT_CHAOS_OPTIONS.recoveryBoundSeconds) },
    settle: { type: 'string', default: env.CHAOS_SETTLE_SECONDS ?? String(DEFAULT_CHAOS_OPTIONS.settleSeconds) },
    'data-dir': { type: 'string', default: env.CHAOS_DATA_DIR },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: env.CHAOS_OUT ?? 'chaos-results.json' },
  },
});

function positive(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1 (got ${value})`);
  return n;
}

function faultList(value: string | undefined): FaultKind[] {
  const faults = (value ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = faults.filter((f) => !(FAULT_KINDS as readonly string[]).includes(f));
  if (unknown.length) throw new Error(`--faults: unknown ${unknown.join(', ')} (known: ${FAULT_KINDS.join(', ')})`);
  return faults as FaultKind[];
}

async function main(): Promise<number> {
  const common = {
    concurrency: positive('concurrency', args.concurrency),
    timeLimitSeconds: positive('time-limit', args['time-limit']),
    settleSeconds: positive('settle', args.settle),
    dataDir: args['data-dir'] ? path.resolve(args['data-dir']) : undefined,
    keep: args.keep,
  };
  if (args.scenario === 'replicas') {
    const result = await runReplicas({ ...common, total: positive('total', args.total ?? String(DEFAULT_REPLICAS_OPTIONS.total)), databaseUrl: process.env.DATABASE_URL || undefined });
    return report(result, renderReplicasReport(result));
  }
  if (args.scenario !== 'faults') throw new Error(`--scenario: unknown ${args.scenario} (known: faults, replicas)`);
  const result = await runChaos({
    ...common,
    total: positive('total', args.total ?? String(DEFAULT_CHAOS_OPTIONS.total)),
    faults: faultList(args.faults),
    recoveryBoundSeconds: positive('recovery-bound', args['recovery-bound']),
  });
  return report(result, renderChaosReport(result));
}

/** The figures as JSON in --out and as text on stdout; the exit code says whether the run passed. */
function report(result: { passed: boolean }, text: string): number {
  fs.writeFileSync(args.out as string, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(text);
  process.stderr.write(`figures written to ${path.resolve(args.out as string)}\n`);
  return result.passed ? 0 : 1;
}

// Ctrl-C: exit through process 'exit', which takes the stack down with it (bench/stack.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
