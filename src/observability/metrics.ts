import http from 'node:http';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/knex';

/**
 * Every metric of this process, defined once, in one registry (prom-client). Each process (API,
 * worker, or `npm start`'s both) has its own registry and serves it on its own metrics port
 * (startMetricsServer), never on the public API. Labels are bounded: kinds, outcomes, response
 * codes, currencies and route patterns, never an id. Counters count in the process that commits
 * the change, once per commit that changed something: a retried step that finds its work done
 * counts nothing, and a write rolled back counts nothing (afterCommit).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpRequestDuration = new Histogram({
  name: 'payments_http_request_duration_seconds',
  help: 'HTTP requests to the API by method, route pattern (e.g. /v1/transfers/:id; `unmatched` when no route handled it) and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const movementOutcomes = new Counter({
  name: 'payments_movement_outcomes_total',
  help: 'Transfers and payouts recorded in a state with a response code: held (12), or an outcome (completed, declined, failed, returned)',
  labelNames: ['kind', 'status', 'response_code'] as const,
  registers: [registry],
});

export const complianceDecisions = new Counter({
  name: 'payments_compliance_decisions_total',
  help: 'Decisions recorded on held transfers and payouts (the first per subject), by kind: release, reject, expire',
  labelNames: ['subject', 'decision'] as const,
  registers: [registry],
});

export const complianceScreenings = new Counter({
  name: 'payments_compliance_screenings_total',
  help: 'Compliance screenings recorded (one per subject), by outcome: approve, hold, decline',
  labelNames: ['subject', 'outcome'] as const,
  registers: [registry],
});

export const ledgerPostings = new Counter({
  name: 'payments_ledger_postings_total',
  help: 'Ledger transactions posted (a replay of an idempotency key is not counted), by kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const ledgerEntries = new Counter({
  name: 'payments_ledger_entries_total',
  help: 'Ledger entries (legs) written by those postings, by kind and currency',
  labelNames: ['kind', 'currency'] as const,
  registers: [registry],
});

export const railCalls = new Histogram({
  name: 'payments_rail_call_duration_seconds',
  help: 'Calls to the payout rail by operation (send, status) and result (accepted, rejected, settled, returned, unknown, bad_request, error)',
  labelNames: ['operation', 'result'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const recoveryRestarts = new Counter({
  name: 'payments_recovery_restarts_total',
  help: 'Transfers whose workflow the recovery sweep (re)started, by result: running (started, or found running), closed (recorded failed), error',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const webhookDeliveries = new Counter({
  name: 'payments_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome: succeeded (2xx), failed (any other answer, a timeout, a refused address), skipped (endpoint disabled or deleted), abandoned (retry window over)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Databases whose held items the gauges report (the API's); the latest one registered is asked. */
const heldSources: Array<{ db: Db; logger: Logger }> = [];

/** A held-items gauge: read from the database at scrape time, by kind. */
const heldGauge = (name: string, help: string) =>
  new Gauge({ name, help, labelNames: ['kind'] as const, registers: [registry], collect: () => collectHeldOnce() });

const heldGauges = {
  pending: heldGauge('payments_held_pending', 'Transfers and payouts held for a compliance decision that have none yet (read from the database at scrape time)'),
  oldest: heldGauge('payments_held_oldest_age_seconds', 'Age of the oldest held item waiting for a decision'),
  median: heldGauge('payments_held_median_age_seconds', 'Median age of the held items waiting for a decision'),
};

const KINDS = ['transfer', 'payout'] as const;

/** The three gauges are collected concurrently in one scrape: they share one query. */
let heldCollection: Promise<void> | undefined;
const collectHeldOnce = () => (heldCollection ??= collectHeld().finally(() => (heldCollection = undefined)));

/**
 * One query per scrape (transfers_held_idx): how many are held without a decision, and how old.
 * When the database cannot answer, the gauges are left out of that scrape rather than stale.
 */
async function collectHeld(): Promise<void> {
  for (const gauge of Object.values(heldGauges)) gauge.reset();
  const source = heldSources[heldSources.length - 1];
  if (!source) return;
  const rows = await queryHeld(source.db).catch((err: unknown) => source.logger.warn({ err }, 'held items metrics: the database did not answer'));
  if (!rows) return;
  for (const kind of KINDS) {
    const row = rows.find((r) => r.kind === kind);
    for (const field of ['pending', 'oldest', 'median'] as const) heldGauges[field].set({ kind }, row?.[field] ?? 0);
  }
}

async function queryHeld(db: Db): Promise<Array<{ kind: string; pending: number; oldest: number; median: number }>> {
  const { rows } = (await db.raw(
    `SELECT t.kind, count(*)::int AS pending,
            coalesce(extract(epoch FROM now() - min(t.held_at)), 0)::float8 AS oldest,
            coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM now() - t.held_at)), 0)::float8 AS median
       FROM transfers t
      WHERE t.status = 'held'
        AND NOT EXISTS (SELECT 1 FROM compliance_decisions d WHERE d.subject_type = t.kind AND d.subject_id = t.id)
      GROUP BY t.kind`,
  )) as { rows: Array<{ kind: string; pending: number; oldest: number; median: number }> };
  return rows;
}

/** The held-items gauges read this database at scrape time, until the returned function is called. */
export function observeHeldItems(db: Db, logger: Logger): () => void {
  const source = { db, logger };
  heldSources.push(source);
  return () => {
    const i = heldSources.lastIndexOf(source);
    if (i >= 0) heldSources.splice(i, 1);
  };
}

/**
 * Runs `count` once the caller's transaction commits (at once outside one), so that a write rolled
 * back (a failed step, retried later) is not counted.
 */
export function afterCommit(trx: Db, count: () => void): void {
  const t = trx as unknown as Partial<Knex.Transaction>;
  if (t.isTransaction && t.executionPromise) t.executionPromise.then(count, () => undefined);
  else count();
}

/** Serves GET /metrics (this process's registry) on its own address; nothing else is served there. */
export async function startMetricsServer(opts: { host: string; port: number; logger: Logger }): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        opts.logger.warn({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
