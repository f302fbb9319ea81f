/**
 * Crash recovery: transfers under load, `npm start`'s whole process group SIGKILLed mid-load
 * (API, worker, Temporal dev server, Postgres, rail), started again on the same data. Clients
 * behave as real ones: a request that fails on the wire is retried with the same Idempotency-Key
 * until it is answered. Reported: how long after /ready every in-flight transfer is terminal, and
 * whether any was lost (a key without exactly one transfer) or doubled (posted twice), with the
 * ledger's invariants and the balances checked.
 */
import { randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import { createDb } from '../src/db/knex';
import { checkLedgerInvariants } from '../src/ledger/invariants';
import { apiClient, sameCurrencyFixtures, type Movement } from '../harness/api';
import { submit } from '../harness/submit';
import { say, sleep } from '../harness/timing';
import type { Stack } from '../harness/stack';

export type CrashResult = {
  transfers: number;
  inFlightAtKill: number;
  restartSeconds: number;
  /** From the restarted stack's first 200 on /ready until every transfer is terminal. */
  recoverySeconds: number;
  lost: number;
  doubled: number;
  balanceMismatches: number;
  invariantViolations: number;
};

/** Statuses a transfer row is not finished in. */
const OPEN = new Set(['processing', 'held', 'sent']);

export async function measureCrashRecovery(stack: Stack, opts: { total: number; concurrency: number; killAfterMs: number }): Promise<CrashResult> {
  const api = apiClient(stack.apiUrl, stack.adminKey, opts.concurrency + 4);
  const movements = await sameCurrencyFixtures(api, opts.concurrency);
  const keys: Array<{ key: string; movement: Movement }> = Array.from({ length: opts.total }, (_, i) => ({ key: randomUUID(), movement: movements[i % movements.length] as Movement }));
  let killed = false;
  let next = 0;
  const clients = Array.from({ length: opts.concurrency }, async () => {
    // After the kill a client finishes the transfer it has in flight (retrying it) and takes no new one.
    while (!killed && next < keys.length) {
      const job = keys[next++] as (typeof keys)[number];
      await submit(api, job.movement, job.key, { whileDown: true });
    }
  });

  await sleep(opts.killAfterMs);
  killed = true;
  const db = createDb(await stack.databaseUrl(), 2);
  const inFlightAtKill = await countOpen(db, keys.map((k) => k.key)).catch(() => -1);
  await db.destroy();
  const killedAt = performance.now();
  await stack.kill();
  say(`crash: SIGKILLed npm start's process group with ${inFlightAtKill} transfers in flight; starting it again`);
  const { readyAt } = await stack.restart();
  const restartSeconds = (readyAt - killedAt) / 1000;
  say(`crash: ready again after ${restartSeconds.toFixed(1)} s; waiting for every transfer to be terminal`);

  const after = createDb(await stack.databaseUrl(), 2);
  try {
    const submitted = keys.slice(0, next).map((k) => k.key);
    await Promise.all(clients);
    while ((await countOpen(after, submitted)) > 0) await sleep(50);
    const recoverySeconds = (performance.now() - readyAt) / 1000;
    const check = await verify(after, keys.slice(0, next), movements);
    const result = { transfers: next, inFlightAtKill, restartSeconds, recoverySeconds, ...check };
    say(
      `crash: all ${next} transfers terminal ${recoverySeconds.toFixed(1)} s after /ready; lost ${check.lost}, doubled ${check.doubled}, ` +
        `balance mismatches ${check.balanceMismatches}, invariant violations ${check.invariantViolations}`,
    );
    return result;
  } finally {
    await after.destroy();
    await api.close();
  }
}

async function countOpen(db: ReturnType<typeof createDb>, keys: string[]): Promise<number> {
  const row = await db('transfers').whereIn('idempotency_key', keys).whereIn('status', [...OPEN]).count<{ n: string }[]>({ n: '*' });
  return Number(row[0]?.n ?? 0);
}

/** Every key has exactly one transfer; every completed one posted exactly once; balances add up. */
async function verify(db: ReturnType<typeof createDb>, submitted: Array<{ key: string }>, movements: Movement[]) {
  const rows = (await db('transfers')
    .whereIn('idempotency_key', submitted.map((k) => k.key))
    .select('idempotency_key', 'id', 'status', 'source_account_id', 'destination_account_id', 'source_amount')) as Array<{
    idempotency_key: string;
    id: string;
    status: string;
    source_account_id: string;
    destination_account_id: string;
    source_amount: string;
  }>;
  const perKey = new Map<string, number>();
  for (const r of rows) perKey.set(r.idempotency_key, (perKey.get(r.idempotency_key) ?? 0) + 1);
  const lost = submitted.filter((k) => perKey.get(k.key) !== 1).length;
  const postings = (await db('ledger_transactions')
    .whereIn('transfer_id', rows.map((r) => r.id))
    .groupBy('transfer_id')
    .select('transfer_id', db.raw('count(*)::int AS n'))) as Array<{ transfer_id: string; n: number }>;
  const posted = new Map(postings.map((p) => [p.transfer_id, p.n]));
  const doubled = rows.filter((r) => (posted.get(r.id) ?? 0) !== (r.status === 'completed' ? 1 : 0)).length;
  // Each payer started with 1,000,000.00 and each payee with nothing: balances are the completed transfers.
  const expected = new Map<string, Decimal>();
  for (const m of movements) {
    expected.set(m.body.source_account_id as string, new Decimal('1000000.00'));
    expected.set(m.body.destination_account_id as string, new Decimal(0));
  }
  for (const r of rows.filter((r) => r.status === 'completed')) {
    expected.set(r.source_account_id, (expected.get(r.source_account_id) as Decimal).minus(r.source_amount));
    expected.set(r.destination_account_id, (expected.get(r.destination_account_id) as Decimal).plus(r.source_amount));
  }
  const balances = (await db('accounts').whereIn('id', [...expected.keys()]).select('id', 'posted', 'pending')) as Array<{ id: string; posted: string; pending: string }>;
  const balanceMismatches = balances.filter((b) => !new Decimal(b.posted).eq(expected.get(b.id) as Decimal) || !new Decimal(b.pending).isZero()).length;
  const invariantViolations = (await checkLedgerInvariants(db)).length;
  return { lost, doubled, balanceMismatches, invariantViolations };
}
