/**
 * What must hold once the dust has settled, from the database and the workflow engine:
 * every transfer and payout terminal (and its workflow closed); the trial balance zero per
 * currency; each account's posted balance the sum of its entries (and pending the sum of its open
 * holds); no customer account negative; exactly one transfer per Idempotency-Key submitted, the one
 * its client was answered with; exactly one debit of the source per completed movement (none left
 * standing for one refused or refunded); every balance what the movements' outcomes make it; and
 * the ledger's invariants (src/ledger/invariants.ts).
 */
import Decimal from 'decimal.js';
import type { Client } from '@temporalio/client';
import type { Db } from '../src/db/knex';
import { checkLedgerInvariants } from '../src/ledger/invariants';
import { trialBalance } from '../src/ledger/trial-balance';
import { TERMINAL_STATUSES } from '../workflows/contract';
import { sleep } from '../harness/timing';
import { tally, type Outcome } from './clients';

export type Check = { name: string; ok: boolean; figure: string; details?: unknown[] };

export type MoneyFigures = {
  submitted: number;
  byStatus: Record<string, number>;
  trialBalance: Array<{ currency: string; debits: string; credits: string; net: string }>;
  checks: Check[];
};

type Row = {
  id: string;
  idempotency_key: string;
  kind: 'transfer' | 'payout';
  status: string;
  source_account_id: string;
  destination_account_id: string;
  source_amount: string | null;
  target_amount: string | null;
  workflow_id: string;
};

const TERMINAL = new Set<string>(TERMINAL_STATUSES);
/** At most this many examples of a failed check are kept. */
const EXAMPLES = 5;

async function rowsOf(db: Db, keys: string[]): Promise<Row[]> {
  return db('transfers')
    .whereIn('idempotency_key', keys)
    .select('id', 'idempotency_key', 'kind', 'status', 'source_account_id', 'destination_account_id', 'source_amount', 'target_amount', 'workflow_id');
}

/**
 * Waits until every submitted movement's row is terminal and its workflow closed (a settled payout's
 * stays open through the return window), or `deadline` (performance.now()).
 */
export async function settle(db: Db, temporal: Client, outcomes: Outcome[], deadline: number, say: (m: string) => void): Promise<void> {
  const closed = new Set<string>();
  let lastSaid = 0;
  for (;;) {
    const rows = await rowsOf(db, outcomes.map((o) => o.key));
    const open = rows.filter((r) => !TERMINAL.has(r.status)).length;
    const running = await runningWorkflows(temporal, rows, closed);
    if (open === 0 && running === 0) return;
    if (performance.now() > deadline) return;
    if (performance.now() - lastSaid > 5000) {
      say(`settling: ${open} movements not terminal, ${running} workflows running`);
      lastSaid = performance.now();
    }
    await sleep(1000);
  }
}

/** How many of the rows' workflows still run; `closed` remembers those seen closed. */
async function runningWorkflows(temporal: Client, rows: Row[], closed: Set<string>): Promise<number> {
  let running = 0;
  const todo = rows.filter((r) => !closed.has(r.workflow_id));
  for (let i = 0; i < todo.length; i += 16) {
    await Promise.all(
      todo.slice(i, i + 16).map(async (r) => {
        const status = await temporal.workflow
          .getHandle(r.workflow_id)
          .describe()
          .then((d) => d.status.name as string)
          .catch(() => 'UNKNOWN');
        if (status === 'RUNNING' || status === 'UNKNOWN') running++;
        else closed.add(r.workflow_id);
      }),
    );
  }
  return running;
}

export async function checkMoney(db: Db, temporal: Client, outcomes: Outcome[]): Promise<MoneyFigures> {
  const keys = outcomes.map((o) => o.key);
  const rows = await rowsOf(db, keys);
  const checks: Check[] = [];
  const add = (name: string, failures: unknown[], figure: string) => checks.push({ name, ok: failures.length === 0, figure, ...(failures.length ? { details: failures.slice(0, EXAMPLES) } : {}) });

  // Clients: every request answered, in the end, with a movement (no refusal, no give-up).
  const clientErrors = outcomes.filter((o) => o.error !== undefined);
  add('every request answered', clientErrors.map((o) => ({ key: o.key, error: o.error })), `${outcomes.length - clientErrors.length}/${outcomes.length}`);

  // Terminal, and the workflow closed.
  const open = rows.filter((r) => !TERMINAL.has(r.status));
  add('every transfer and payout terminal', open.map((r) => ({ id: r.id, kind: r.kind, status: r.status })), `${rows.length - open.length}/${rows.length}`);
  const closed = new Set<string>();
  const running = await runningWorkflows(temporal, rows, closed);
  add('every workflow closed', running ? rows.filter((r) => !closed.has(r.workflow_id)).map((r) => ({ workflow_id: r.workflow_id })) : [], `${rows.length - running}/${rows.length}`);

  // One transfer per key, the one the client was answered with, in the state the client last saw
  // (a payout seen completed may since have been returned, within its return window).
  const byKey = new Map<string, Row[]>();
  for (const r of rows) byKey.set(r.idempotency_key, [...(byKey.get(r.idempotency_key) ?? []), r]);
  const notOne = outcomes.filter((o) => byKey.get(o.key)?.length !== 1);
  add('one transfer per Idempotency-Key', notOne.map((o) => ({ key: o.key, transfers: byKey.get(o.key)?.length ?? 0 })), `${outcomes.length - notOne.length}/${outcomes.length}`);
  const answered = outcomes.filter((o) => o.id !== undefined);
  const disagree = answered.filter((o) => {
    const row = byKey.get(o.key)?.[0];
    return !row || row.id !== o.id || (row.status !== o.status && !(row.kind === 'payout' && o.status === 'completed' && row.status === 'returned'));
  });
  add('clients saw the recorded outcome', disagree.map((o) => ({ key: o.key, client: { id: o.id, status: o.status }, recorded: byKey.get(o.key)?.map((r) => ({ id: r.id, status: r.status })) })), `${answered.length - disagree.length}/${answered.length}`);

  // The source's entries per movement: one debit of the amount when completed; none when declined;
  // at most one, given back, when failed or returned. A completed transfer credits its destination once.
  const entries = (await db('ledger_transactions as t')
    .join('ledger_entries as e', 'e.transaction_id', 't.id')
    .whereIn('t.transfer_id', rows.map((r) => r.id))
    .select('t.transfer_id', 't.kind', 'e.account_id', db.raw('e.amount::text AS amount'))) as Array<{ transfer_id: string; kind: string; account_id: string; amount: string }>;
  const entriesOf = new Map<string, typeof entries>();
  for (const e of entries) entriesOf.set(e.transfer_id, [...(entriesOf.get(e.transfer_id) ?? []), e]);
  const debitProblems: unknown[] = [];
  for (const r of rows) {
    const mine = entriesOf.get(r.id) ?? [];
    const onSource = mine.filter((e) => e.account_id === r.source_account_id);
    const debits = onSource.filter((e) => new Decimal(e.amount).isNegative());
    const net = onSource.reduce((sum, e) => sum.plus(e.amount), new Decimal(0));
    let problem: string | undefined;
    if (r.status === 'completed') {
      if (debits.length !== 1) problem = `${debits.length} debits of the source`;
      else if (!net.eq(new Decimal(r.source_amount ?? 'NaN').neg())) problem = `the source moved ${net.toFixed()} for ${r.source_amount}`;
      else if (r.kind === 'transfer') {
        const credits = mine.filter((e) => e.account_id === r.destination_account_id);
        if (credits.length !== 1 || !new Decimal(credits[0]?.amount ?? 'NaN').eq(r.target_amount ?? 'NaN')) problem = `the destination has ${credits.length} entries for ${r.target_amount}`;
      }
    } else if (r.status === 'declined') {
      if (mine.length !== 0) problem = `${mine.length} entries for a declined movement`;
    } else if (r.status === 'failed' || r.status === 'returned') {
      if (debits.length > 1) problem = `${debits.length} debits of the source`;
      else if (!net.isZero()) problem = `${net.toFixed()} left standing on the source`;
    }
    if (problem) debitProblems.push({ id: r.id, kind: r.kind, status: r.status, problem });
  }
  const completed = rows.filter((r) => r.status === 'completed').length;
  add('one debit per completed movement (none left for the others)', debitProblems, `${rows.length - debitProblems.length}/${rows.length} (${completed} completed)`);

  // Each customer account involved: what its deposits and the completed movements make it.
  const accountIds = [...new Set(rows.flatMap((r) => (r.kind === 'transfer' ? [r.source_account_id, r.destination_account_id] : [r.source_account_id])))];
  const expected = new Map<string, Decimal>(accountIds.map((id) => [id, new Decimal(0)]));
  const deposits = (await db('ledger_transactions as t')
    .join('ledger_entries as e', 'e.transaction_id', 't.id')
    .where('t.kind', 'deposit')
    .whereIn('e.account_id', accountIds)
    .select('e.account_id', db.raw('e.amount::text AS amount'))) as Array<{ account_id: string; amount: string }>;
  const credit = (id: string, amount: Decimal.Value) => expected.set(id, (expected.get(id) as Decimal).plus(amount));
  for (const d of deposits) credit(d.account_id, d.amount);
  for (const r of rows.filter((r) => r.status === 'completed')) {
    credit(r.source_account_id, new Decimal(r.source_amount ?? 'NaN').neg());
    if (r.kind === 'transfer') credit(r.destination_account_id, r.target_amount ?? 'NaN');
  }
  const balances = (await db('accounts').whereIn('id', accountIds).select('id', db.raw('posted::text AS posted'), db.raw('pending::text AS pending'))) as Array<{ id: string; posted: string; pending: string }>;
  const wrong = balances.filter((b) => !new Decimal(b.posted).eq(expected.get(b.id) as Decimal) || !new Decimal(b.pending).isZero());
  add('balances are what the outcomes make them', wrong.map((b) => ({ account: b.id, posted: b.posted, pending: b.pending, expected: expected.get(b.id)?.toFixed() })), `${balances.length - wrong.length}/${balances.length} accounts`);

  // The whole ledger.
  const tb = await trialBalance(db);
  const unbalanced = tb.filter((t) => !new Decimal(t.net).isZero());
  add('trial balance zero per currency', unbalanced, tb.map((t) => `${t.currency} ${t.net}`).join(', '));
  const violations = await checkLedgerInvariants(db);
  const of = (invariant: string) => violations.filter((v) => v.invariant === invariant);
  const [{ n: accounts } = { n: 0 }] = (await db('accounts').select(db.raw('count(*)::int AS n'))) as Array<{ n: number }>;
  add('posted balance = sum of its entries', of('posted_equals_sum_of_entries'), `${accounts - of('posted_equals_sum_of_entries').length}/${accounts} accounts`);
  add('pending = sum of its open reservations', of('pending_equals_sum_of_pending_reservations'), `${accounts - of('pending_equals_sum_of_pending_reservations').length}/${accounts} accounts`);
  const negative = (await db('accounts').where('kind', 'customer').andWhere((q) => q.where('posted', '<', 0).orWhere('available', '<', 0)).select('id', db.raw('posted::text AS posted'), db.raw('available::text AS available'))) as unknown[];
  add('no customer account negative', negative, `${negative.length} negative`);
  add('ledger invariants', violations, `${violations.length} violations`);

  return {
    submitted: outcomes.length,
    byStatus: tally(rows, (r) => r.status),
    trialBalance: tb.map(({ currency, debits, credits, net }) => ({ currency, debits, credits, net })),
    checks,
  };
}
