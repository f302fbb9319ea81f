/**
 * The ledger alone, against what the same Postgres commits at best: postings/s through the ledger
 * service (a balanced two-leg posting between customer accounts, as a transfer posts) against
 * single-row INSERT transactions/s (one autocommitted INSERT, the cheapest durable transaction),
 * both from one knex pool of the same size at the same concurrency, alternated twice.
 */
import { randomUUID } from 'node:crypto';
import { createDb, type Db } from '../src/db/knex';
import { createLedgerService } from '../src/ledger/service';
import { checkLedgerInvariants } from '../src/ledger/invariants';
import { say } from '../harness/timing';

export type LedgerResult = { postingsPerSecond: number; insertsPerSecond: number; ratio: number; invariantViolations: number };

export async function measureLedger(databaseUrl: string, opts: { concurrency: number; seconds: number }): Promise<LedgerResult> {
  const db = createDb(databaseUrl, opts.concurrency);
  const ledger = createLedgerService({ db });
  try {
    await db.raw('CREATE SCHEMA IF NOT EXISTS bench; CREATE TABLE IF NOT EXISTS bench.single_row (id uuid PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
    const pairs = await accountPairs(db, ledger, opts.concurrency);
    const insert = async () => {
      await db('bench.single_row').insert({ id: randomUUID(), payload: 'bench' });
    };
    const post = async (client: number) => {
      const [from, to] = pairs[client] as [string, string];
      await ledger.postTransaction({
        idempotencyKey: `bench:${randomUUID()}`,
        kind: 'transfer',
        reference: 'bench',
        legs: [
          { accountId: from, currency: 'USD', amount: '-0.01' },
          { accountId: to, currency: 'USD', amount: '0.01' },
        ],
      });
    };
    const inserts: number[] = [];
    const postings: number[] = [];
    for (let round = 0; round < 2; round++) {
      inserts.push(await rate(`ledger: single-row inserts (round ${round + 1})`, opts, () => insert()));
      postings.push(await rate(`ledger: postings (round ${round + 1})`, opts, (client) => post(client)));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const violations = await checkLedgerInvariants(db);
    const result = { postingsPerSecond: mean(postings), insertsPerSecond: mean(inserts), ratio: mean(postings) / mean(inserts), invariantViolations: violations.length };
    say(`ledger: ${result.postingsPerSecond.toFixed(0)} postings/s vs ${result.insertsPerSecond.toFixed(0)} single-row inserts/s (${result.ratio.toFixed(2)}x)`);
    return result;
  } finally {
    await db.raw('DROP SCHEMA IF EXISTS bench CASCADE').catch(() => undefined);
    await db.destroy();
  }
}

/** Calls per second of `fn`, `concurrency` at a time, for `seconds`. */
async function rate(label: string, opts: { concurrency: number; seconds: number }, fn: (client: number) => Promise<void>): Promise<number> {
  const until = performance.now() + opts.seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, client) => {
      while (performance.now() < until) {
        await fn(client);
        done++;
      }
    }),
  );
  const perSecond = (done * 1000) / (performance.now() - started);
  say(`${label}: ${perSecond.toFixed(0)}/s`);
  return perSecond;
}

/** One funded payer and one payee per client, so the comparison measures the ledger, not one hot row. */
async function accountPairs(db: Db, ledger: ReturnType<typeof createLedgerService>, n: number): Promise<Array<[string, string]>> {
  const customerId = randomUUID();
  await db('customers').insert({ id: customerId, name: 'Ledger Bench', country: 'GB' });
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const [from, to] = [randomUUID(), randomUUID()];
    await db('accounts').insert([
      { id: from, customer_id: customerId, currency: 'USD', kind: 'customer' },
      { id: to, customer_id: customerId, currency: 'USD', kind: 'customer' },
    ]);
    await ledger.deposit({ accountId: from, amount: '1000000.00', reference: 'bench', idempotencyKey: `bench-deposit:${from}` });
    pairs.push([from, to]);
  }
  return pairs;
}
