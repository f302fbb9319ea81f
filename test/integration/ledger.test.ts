/**
 * The ledger service and the transfer activities against the real Postgres of the test run.
 * Other test files share the database: every query here is scoped to rows this file created,
 * and every test ends with the whole database's invariants.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, ledgerKey, type MovementActivities } from '../../activities';
import type { Db } from '../../src/db/knex';
import { LedgerRefusal } from '../../src/ledger/refusals';
import { Refusal } from '../../src/refusal';
import type { AccountRow, ReservationRow, LedgerEntryRow, LedgerTransactionRow } from '../../src/ledger/model';
import { createLedgerService, type LedgerService } from '../../src/ledger/service';
import { formatAmount, Money } from '../../src/money/money';
import type { TransferRow } from '../../src/transfers/model';
import { createServices } from '../../src/services';
import { expectLedgerInvariants, openTestDb, testRail } from '../support/harness';
import { createHttpRail } from '../../src/rail/client';

let db: Db;
let ledger: LedgerService;
let activities: MovementActivities;

/** The real activities over `over`, with services of their own (their caches start cold). */
function activitiesOver(over: Db): MovementActivities {
  const services = createServices(over, { fxRateMaxAgeMs: 3_600_000, fxQuoteTtlMs: 60_000 });
  return createActivities({
    db: over,
    ledger: services.ledger,
    transfers: services.transferRepository,
    pricing: services.pricing,
    compliance: services.compliance,
    rail: createHttpRail(testRail().url),
    railCallbackUrl: () => 'http://127.0.0.1:1/rail/events',
  });
}

beforeAll(() => {
  db = openTestDb(20);
  ledger = createLedgerService({ db });
  activities = activitiesOver(db);
});

afterAll(async () => {
  await db.destroy();
});

const MINOR_UNITS: Record<string, number> = { USD: 2, EUR: 2, JPY: 0, KWD: 3 };

/** NUMERIC(38, 8) as stored ("100.00000000") in the currency's canonical form ("100.00"). */
const fmt = (value: string, currency = 'USD') => formatAmount(value, MINOR_UNITS[currency] ?? 2);

const key = (label: string) => `test:ledger:${label}:${randomUUID()}`;

async function newCustomer(status: 'active' | 'suspended' | 'closed' = 'active'): Promise<string> {
  const id = randomUUID();
  await db('customers').insert({ id, name: 'Ledger Test Customer', country: 'GB', status });
  return id;
}

async function newAccount(opts: { currency?: string; customerId?: string; deposit?: string } = {}): Promise<string> {
  const id = randomUUID();
  await db('accounts').insert({
    id,
    customer_id: opts.customerId ?? (await newCustomer()),
    currency: opts.currency ?? 'USD',
    kind: 'customer',
  });
  if (opts.deposit) {
    await ledger.deposit({ accountId: id, amount: opts.deposit, reference: 'seed', idempotencyKey: key('seed') });
  }
  return id;
}

async function accountRow(id: string): Promise<AccountRow> {
  return db('accounts').where({ id }).first<AccountRow>();
}

/** posted / pending / available of an account, canonically formatted. */
async function balances(id: string) {
  const a = await accountRow(id);
  return { posted: fmt(a.posted, a.currency), pending: fmt(a.pending, a.currency), available: fmt(a.available, a.currency) };
}

async function freeze(accountId: string): Promise<void> {
  await db('accounts').where({ id: accountId }).update({ status: 'frozen' });
}

async function transactionsByKey(idempotencyKey: string): Promise<LedgerTransactionRow[]> {
  return db('ledger_transactions').where({ idempotency_key: idempotencyKey });
}

async function entriesOf(transactionId: string): Promise<LedgerEntryRow[]> {
  return db('ledger_entries').where({ transaction_id: transactionId }).orderBy('seq');
}

async function ledgerErrorOf(promise: Promise<unknown>): Promise<Refusal> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Refusal);
  return err as Refusal;
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

async function pgErrorOf(promise: Promise<unknown>): Promise<{ code?: string; constraint?: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as { code?: string; constraint?: string; message: string };
}

const transferLegs = (from: string, to: string, amount: string, currency = 'USD') => [
  { accountId: from, currency, amount: new Money(amount).neg().toString() },
  { accountId: to, currency, amount },
];

describe('postings are idempotent', () => {
  it('a deposit run twice with the same key writes one transaction and returns the same result', async () => {
    const account = await newAccount();
    const k = key('deposit-twice');
    const first = await ledger.deposit({ accountId: account, amount: '100.00', reference: 'dep', idempotencyKey: k });
    const second = await ledger.deposit({ accountId: account, amount: '100.00', reference: 'dep', idempotencyKey: k });

    expect(second).toEqual(first);
    expect(first.kind).toBe('deposit');
    expect(first.entries).toHaveLength(2);
    expect(await transactionsByKey(k)).toHaveLength(1);
    expect(await entriesOf(first.id)).toHaveLength(2);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });
    const own = first.entries.find((e) => e.account_id === account)!;
    expect(fmt(own.amount)).toBe('100.00');
    expect(fmt(own.balance_after)).toBe('100.00');
    await expectLedgerInvariants(db);
  });

  it('a posting between accounts run twice with the same key moves the money once', async () => {
    const from = await newAccount({ deposit: '50.00' });
    const to = await newAccount();
    const input = { idempotencyKey: key('post-twice'), kind: 'transfer' as const, legs: transferLegs(from, to, '20.00') };
    const first = await ledger.postTransaction(input);
    const second = await ledger.postTransaction(input);

    expect(second).toEqual(first);
    expect(await transactionsByKey(input.idempotencyKey)).toHaveLength(1);
    expect(await entriesOf(first.id)).toHaveLength(2);
    expect((await balances(from)).posted).toBe('30.00');
    expect((await balances(to)).posted).toBe('20.00');
    await expectLedgerInvariants(db);
  });

  it('10 concurrent identical deposits write exactly one transaction', async () => {
    const account = await newAccount();
    const k = key('deposit-concurrent');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => ledger.deposit({ accountId: account, amount: '25.00', reference: 'dep', idempotencyKey: k })),
    );

    const ids = new Set(results.map((r) => r.id));
    expect(ids.size).toBe(1);
    for (const r of results) expect(r.entries.map((e) => e.id).sort()).toEqual(results[0]!.entries.map((e) => e.id).sort());
    expect(await transactionsByKey(k)).toHaveLength(1);
    expect(await entriesOf(results[0]!.id)).toHaveLength(2);
    expect(await db('ledger_entries').where({ account_id: account })).toHaveLength(1);
    expect(await balances(account)).toEqual({ posted: '25.00', pending: '0.00', available: '25.00' });
    await expectLedgerInvariants(db);
  });

  it('10 concurrent identical postTransaction calls write exactly one transaction', async () => {
    const from = await newAccount({ deposit: '100.00' });
    const to = await newAccount();
    const input = { idempotencyKey: key('post-concurrent'), kind: 'transfer' as const, legs: transferLegs(from, to, '60.00') };
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.postTransaction(input)));

    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(await transactionsByKey(input.idempotencyKey)).toHaveLength(1);
    expect(await entriesOf(results[0]!.id)).toHaveLength(2);
    expect(await db('ledger_entries').where({ account_id: to })).toHaveLength(1);
    expect(await balances(from)).toEqual({ posted: '40.00', pending: '0.00', available: '40.00' });
    expect((await balances(to)).posted).toBe('60.00');
    await expectLedgerInvariants(db);
  });

  it('refuses unbalanced legs, and overdrafts through the CHECK backstop, writing nothing', async () => {
    const from = await newAccount({ deposit: '10.00' });
    const to = await newAccount();
    const unbalancedKey = key('unbalanced');
    const unbalanced = await ledgerErrorOf(
      ledger.postTransaction({
        idempotencyKey: unbalancedKey,
        kind: 'transfer',
        legs: [
          { accountId: from, currency: 'USD', amount: '-5.00' },
          { accountId: to, currency: 'USD', amount: '4.99' },
        ],
      }),
    );
    expect(unbalanced.code).toBe(LedgerRefusal.Unbalanced);

    const overdraftKey = key('overdraft');
    const overdraft = await ledgerErrorOf(
      ledger.postTransaction({ idempotencyKey: overdraftKey, kind: 'transfer', legs: transferLegs(from, to, '10.01') }),
    );
    expect(overdraft.code).toBe(LedgerRefusal.InsufficientFunds);

    expect(await transactionsByKey(unbalancedKey)).toHaveLength(0);
    expect(await transactionsByKey(overdraftKey)).toHaveLength(0);
    expect(await balances(from)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });
    expect((await balances(to)).posted).toBe('0.00');
    await expectLedgerInvariants(db);
  });
});

describe('reserve', () => {
  it('the same key twice returns the same hold and reserves once', async () => {
    const account = await newAccount({ deposit: '100.00' });
    const input = { idempotencyKey: key('reserve-twice'), accountId: account, currency: 'USD', amount: '30.00' };
    const first = await ledger.reserve(input);
    const second = await ledger.reserve(input);

    expect(second).toEqual(first);
    expect(first.status).toBe('pending');
    expect(fmt(first.amount)).toBe('30.00');
    expect(await db('holds').where({ account_id: account })).toHaveLength(1);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '30.00', available: '70.00' });
    await expectLedgerInvariants(db);
  });

  it('the same key concurrently reserves once', async () => {
    const account = await newAccount({ deposit: '100.00' });
    const input = { idempotencyKey: key('reserve-concurrent'), accountId: account, currency: 'USD', amount: '30.00' };
    const holds = await Promise.all(Array.from({ length: 10 }, () => ledger.reserve(input)));

    expect(new Set(holds.map((h) => h.id)).size).toBe(1);
    expect(await db('holds').where({ account_id: account })).toHaveLength(1);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '30.00', available: '70.00' });
    await expectLedgerInvariants(db);
  });

  it('the same key with other terms is an idempotency conflict', async () => {
    const account = await newAccount({ deposit: '100.00' });
    const k = key('reserve-conflict');
    await ledger.reserve({ idempotencyKey: k, accountId: account, currency: 'USD', amount: '30.00' });
    const err = await ledgerErrorOf(ledger.reserve({ idempotencyKey: k, accountId: account, currency: 'USD', amount: '31.00' }));
    expect(err.code).toBe(LedgerRefusal.IdempotencyConflict);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '30.00', available: '70.00' });
    await expectLedgerInvariants(db);
  });

  it('more than available is InsufficientFunds and writes nothing, even when posted would cover it', async () => {
    const account = await newAccount({ deposit: '100.00' });
    await ledger.reserve({ idempotencyKey: key('reserve-first'), accountId: account, currency: 'USD', amount: '60.00' });
    const k = key('reserve-too-much');
    const err = await ledgerErrorOf(ledger.reserve({ idempotencyKey: k, accountId: account, currency: 'USD', amount: '40.01' }));

    expect(err.code).toBe(LedgerRefusal.InsufficientFunds);
    expect(await db('holds').where({ idempotency_key: k })).toHaveLength(0);
    expect(await db('holds').where({ account_id: account })).toHaveLength(1);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '60.00', available: '40.00' });

    // Exactly the available balance still fits.
    const exact = await ledger.reserve({ idempotencyKey: key('reserve-exact'), accountId: account, currency: 'USD', amount: '40.00' });
    expect(exact.status).toBe('pending');
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '100.00', available: '0.00' });
    await expectLedgerInvariants(db);
  });

  it('a frozen account is AccountNotActive; a wrong currency is CurrencyMismatch; a missing one AccountNotFound', async () => {
    const account = await newAccount({ deposit: '100.00' });
    await freeze(account);
    const k = key('reserve-frozen');
    const frozen = await ledgerErrorOf(ledger.reserve({ idempotencyKey: k, accountId: account, currency: 'USD', amount: '10.00' }));
    expect(frozen.code).toBe(LedgerRefusal.AccountNotActive);
    expect(await db('holds').where({ account_id: account })).toHaveLength(0);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });

    const usd = await newAccount({ deposit: '100.00' });
    const mismatch = await ledgerErrorOf(ledger.reserve({ idempotencyKey: key('reserve-eur'), accountId: usd, currency: 'EUR', amount: '10.00' }));
    expect(mismatch.code).toBe(LedgerRefusal.CurrencyMismatch);
    const missing = await ledgerErrorOf(
      ledger.reserve({ idempotencyKey: key('reserve-missing'), accountId: randomUUID(), currency: 'USD', amount: '10.00' }),
    );
    expect(missing.code).toBe(LedgerRefusal.AccountNotFound);
    expect(await db('holds').where({ account_id: usd })).toHaveLength(0);
    expect((await balances(usd)).pending).toBe('0.00');
    await expectLedgerInvariants(db);
  });

  it('50 concurrent reserves of 10.00 on 100.00 available: exactly 10 succeed and available never goes negative', async () => {
    const account = await newAccount({ deposit: '100.00' });
    const sampler = openTestDb(2);
    let racing = true;
    const samples: string[] = [];
    const sampling = (async () => {
      while (racing) {
        const row = await sampler('accounts').where({ id: account }).first<AccountRow>('available');
        samples.push(row.available);
      }
    })();
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          ledger.reserve({ idempotencyKey: key(`race-${i}`), accountId: account, currency: 'USD', amount: '10.00' }),
        ),
      );
      racing = false;
      await sampling;

      const fulfilled = results.filter((r) => r.status === 'fulfilled');
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(fulfilled).toHaveLength(10);
      expect(rejected).toHaveLength(40);
      for (const r of rejected) {
        expect(r.reason).toBeInstanceOf(Refusal);
        expect((r.reason as Refusal).code).toBe(LedgerRefusal.InsufficientFunds);
      }
      expect(await balances(account)).toEqual({ posted: '100.00', pending: '100.00', available: '0.00' });
      const holds = (await db('holds').where({ account_id: account })) as ReservationRow[];
      expect(holds).toHaveLength(10);
      expect(holds.every((h) => h.status === 'pending' && fmt(h.amount) === '10.00')).toBe(true);
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.filter((s) => new Money(s).isNegative())).toEqual([]);
    } finally {
      racing = false;
      await sampling;
      await sampler.destroy();
    }
    await expectLedgerInvariants(db);
  });
});

describe('settling and voiding holds', () => {
  it('a posting that settles a hold releases pending, moves posted, and records running balances', async () => {
    const from = await newAccount({ deposit: '100.00' });
    const to = await newAccount({ deposit: '5.00' });
    const hold = await ledger.reserve({ idempotencyKey: key('settle-reserve'), accountId: from, currency: 'USD', amount: '30.00' });
    // A second, unrelated hold stays pending.
    await ledger.reserve({ idempotencyKey: key('settle-other'), accountId: from, currency: 'USD', amount: '15.00' });
    expect(await balances(from)).toEqual({ posted: '100.00', pending: '45.00', available: '55.00' });

    const input = {
      idempotencyKey: key('settle-post'),
      kind: 'transfer' as const,
      consumeReservationId: hold.id,
      legs: transferLegs(from, to, '30.00'),
    };
    const posted = await ledger.postTransaction(input);

    expect(await balances(from)).toEqual({ posted: '70.00', pending: '15.00', available: '55.00' });
    expect(await balances(to)).toEqual({ posted: '35.00', pending: '0.00', available: '35.00' });
    const settled = await db('holds').where({ id: hold.id }).first<ReservationRow>();
    expect(settled.status).toBe('posted');
    expect(settled.resolved_at).toBeInstanceOf(Date);

    const stored = await entriesOf(posted.id);
    expect(stored.map((e) => e.id)).toEqual(posted.entries.map((e) => e.id));
    const byAccount = new Map(stored.map((e) => [e.account_id, e]));
    expect(fmt(byAccount.get(from)!.amount)).toBe('-30.00');
    expect(fmt(byAccount.get(from)!.balance_after)).toBe('70.00');
    expect(fmt(byAccount.get(to)!.amount)).toBe('30.00');
    expect(fmt(byAccount.get(to)!.balance_after)).toBe('35.00');
    for (const id of [from, to]) {
      const [latest] = (await db('ledger_entries').where({ account_id: id }).orderBy('seq', 'desc').limit(1)) as LedgerEntryRow[];
      expect(fmt(latest!.balance_after)).toBe((await balances(id)).posted);
    }

    // Repeating the settlement returns the first posting and changes nothing.
    expect(await ledger.postTransaction(input)).toEqual(posted);
    expect(await balances(from)).toEqual({ posted: '70.00', pending: '15.00', available: '55.00' });
    expect(await transactionsByKey(input.idempotencyKey)).toHaveLength(1);
    await expectLedgerInvariants(db);
  });

  it('concurrent settlements of one hold post once', async () => {
    const from = await newAccount({ deposit: '100.00' });
    const to = await newAccount();
    const hold = await ledger.reserve({ idempotencyKey: key('settle-race-reserve'), accountId: from, currency: 'USD', amount: '40.00' });
    const input = { idempotencyKey: key('settle-race'), kind: 'transfer' as const, consumeReservationId: hold.id, legs: transferLegs(from, to, '40.00') };
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.postTransaction(input)));

    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(await transactionsByKey(input.idempotencyKey)).toHaveLength(1);
    expect(await balances(from)).toEqual({ posted: '60.00', pending: '0.00', available: '60.00' });
    expect(await balances(to)).toEqual({ posted: '40.00', pending: '0.00', available: '40.00' });
    await expectLedgerInvariants(db);
  });

  it('releaseReservation twice releases once; the second call is a no-op', async () => {
    const account = await newAccount({ deposit: '100.00' });
    const hold = await ledger.reserve({ idempotencyKey: key('void-1'), accountId: account, currency: 'USD', amount: '20.00' });
    await ledger.reserve({ idempotencyKey: key('void-2'), accountId: account, currency: 'USD', amount: '25.00' });

    const voided = await ledger.releaseReservation(hold.id);
    expect(voided.status).toBe('voided');
    expect(voided.resolved_at).toBeInstanceOf(Date);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '25.00', available: '75.00' });

    const again = await ledger.releaseReservation(hold.id);
    expect(again).toEqual(voided);
    expect(await balances(account)).toEqual({ posted: '100.00', pending: '25.00', available: '75.00' });

    const missing = await ledgerErrorOf(ledger.releaseReservation(randomUUID()));
    expect(missing.code).toBe(LedgerRefusal.ReservationNotFound);
    await expectLedgerInvariants(db);
  });

  it('voiding a posted hold and posting a voided hold both throw HoldNotPending', async () => {
    const from = await newAccount({ deposit: '100.00' });
    const to = await newAccount();

    const postedHold = await ledger.reserve({ idempotencyKey: key('posted-hold'), accountId: from, currency: 'USD', amount: '10.00' });
    await ledger.postTransaction({ idempotencyKey: key('posted-hold-post'), kind: 'transfer', consumeReservationId: postedHold.id, legs: transferLegs(from, to, '10.00') });
    const voidPosted = await ledgerErrorOf(ledger.releaseReservation(postedHold.id));
    expect(voidPosted.code).toBe(LedgerRefusal.ReservationNotPending);
    expect((await db('holds').where({ id: postedHold.id }).first<ReservationRow>()).status).toBe('posted');

    const voidedHold = await ledger.reserve({ idempotencyKey: key('voided-hold'), accountId: from, currency: 'USD', amount: '20.00' });
    await ledger.releaseReservation(voidedHold.id);
    const k = key('voided-hold-post');
    const postVoided = await ledgerErrorOf(
      ledger.postTransaction({ idempotencyKey: k, kind: 'transfer', consumeReservationId: voidedHold.id, legs: transferLegs(from, to, '20.00') }),
    );
    expect(postVoided.code).toBe(LedgerRefusal.ReservationNotPending);
    expect(await transactionsByKey(k)).toHaveLength(0);
    expect((await db('holds').where({ id: voidedHold.id }).first<ReservationRow>()).status).toBe('voided');

    expect(await balances(from)).toEqual({ posted: '90.00', pending: '0.00', available: '90.00' });
    expect(await balances(to)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });
    await expectLedgerInvariants(db);
  });
});

describe('database backstops', () => {
  it('ledger entries and transactions are append-only: UPDATE and DELETE are rejected', async () => {
    const account = await newAccount();
    const tx = await ledger.deposit({ accountId: account, amount: '12.34', reference: 'dep', idempotencyKey: key('append-only') });
    const entry = tx.entries.find((e) => e.account_id === account)!;

    for (const attempt of [
      db('ledger_entries').where({ id: entry.id }).update({ amount: '1000.00', balance_after: '1000.00' }),
      db('ledger_entries').where({ id: entry.id }).delete(),
      db('ledger_transactions').where({ id: tx.id }).update({ description: 'rewritten' }),
      db('ledger_transactions').where({ id: tx.id }).delete(),
    ]) {
      const err = await pgErrorOf(attempt);
      expect(err.code).toBe('23001'); // restrict_violation
      expect(err.message).toMatch(/append-only/);
    }

    const [stored] = await entriesOf(tx.id).then((rows) => rows.filter((e) => e.id === entry.id));
    expect(fmt(stored!.amount)).toBe('12.34');
    expect(fmt(stored!.balance_after)).toBe('12.34');
    expect((await transactionsByKey(tx.idempotency_key))[0]!.description).toBe(tx.description);
    await expectLedgerInvariants(db);
  });

  it('unbalanced entries inserted directly fail at commit (deferred constraint trigger); balanced ones commit', async () => {
    const from = await newAccount({ deposit: '100.00' });
    const to = await newAccount();

    const unbalancedId = randomUUID();
    let insertedBeforeCommit = false;
    const err = await pgErrorOf(
      db.transaction(async (trx) => {
        await trx('ledger_transactions').insert({ id: unbalancedId, idempotency_key: key('raw-unbalanced'), kind: 'transfer' });
        await trx('ledger_entries').insert([
          { id: randomUUID(), transaction_id: unbalancedId, account_id: from, currency: 'USD', amount: '-5.00', balance_after: '95.00' },
          { id: randomUUID(), transaction_id: unbalancedId, account_id: to, currency: 'USD', amount: '4.00', balance_after: '4.00' },
        ]);
        await trx('accounts').where({ id: from }).update({ posted: '95.00' });
        await trx('accounts').where({ id: to }).update({ posted: '4.00' });
        insertedBeforeCommit = true; // the statements themselves succeed: the check is deferred
      }),
    );
    expect(insertedBeforeCommit).toBe(true);
    expect(err.code).toBe('23514');
    expect(err.message).toMatch(/does not balance/);
    expect(await db('ledger_transactions').where({ id: unbalancedId })).toHaveLength(0);
    expect(await db('ledger_entries').where({ transaction_id: unbalancedId })).toHaveLength(0);
    expect(await balances(from)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });

    // Control: the same shape, balanced, commits.
    const balancedId = randomUUID();
    await db.transaction(async (trx) => {
      await trx('ledger_transactions').insert({ id: balancedId, idempotency_key: key('raw-balanced'), kind: 'transfer' });
      await trx('accounts').whereIn('id', [from, to]).orderBy('id').forUpdate();
      await trx('ledger_entries').insert([
        { id: randomUUID(), transaction_id: balancedId, account_id: from, currency: 'USD', amount: '-5.00', balance_after: '95.00' },
        { id: randomUUID(), transaction_id: balancedId, account_id: to, currency: 'USD', amount: '5.00', balance_after: '5.00' },
      ]);
      await trx('accounts').where({ id: from }).update({ posted: '95.00' });
      await trx('accounts').where({ id: to }).update({ posted: '5.00' });
    });
    expect(await entriesOf(balancedId)).toHaveLength(2);
    expect((await balances(from)).posted).toBe('95.00');
    await expectLedgerInvariants(db);
  });

  it('a customer account cannot be updated below zero available or posted (CHECK constraint)', async () => {
    const account = await newAccount({ deposit: '100.00' });
    const pendingOver = await pgErrorOf(db('accounts').where({ id: account }).update({ pending: '100.01' }));
    expect(pendingOver.code).toBe('23514');
    expect(pendingOver.constraint).toBe('accounts_no_overdraft');

    const postedBelow = await pgErrorOf(db('accounts').where({ id: account }).update({ posted: '-0.01' }));
    expect(postedBelow.code).toBe('23514');
    expect(postedBelow.constraint).toBe('accounts_no_overdraft');

    const allowNegative = await pgErrorOf(db('accounts').where({ id: account }).update({ allow_negative: true, posted: '-1.00' }));
    expect(allowNegative.code).toBe('23514');
    expect(allowNegative.constraint).toBe('accounts_owner_matches_kind');

    expect(await balances(account)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });
    await expectLedgerInvariants(db);
  });
});

describe('transfer activities', () => {
  async function insertTransfer(opts: {
    source: string;
    destination: string;
    amount: string;
    currency?: string;
    targetCurrency?: string;
  }): Promise<string> {
    const id = randomUUID();
    const source = await accountRow(opts.source);
    await db('transfers').insert({
      id,
      ref_id: `ref-${randomUUID()}`,
      customer_id: source.customer_id,
      idempotency_scope: `customer:${source.customer_id}`,
      idempotency_key: randomUUID(),
      request_hash: randomBytes(32).toString('hex'),
      source_account_id: opts.source,
      destination_account_id: opts.destination,
      source_amount: opts.amount,
      source_currency: opts.currency ?? 'USD',
      target_amount: opts.amount,
      target_currency: opts.targetCurrency ?? opts.currency ?? 'USD',
      reference: 'activity test',
      metadata: '{}',
      workflow_id: `transfer-${id}`,
      // Priced as a fee-free same-currency transfer, as the workflow's pricing step would record it.
      fx_rate: '1',
      market_rate: '1',
      fixed_fee: '0',
      spread_fee: '0',
      calculated_fees: '{}',
      priced_at: new Date(),
    });
    return id;
  }

  const transferRow = (id: string) => db('transfers').where({ id }).first<TransferRow>();

  it('runs a transfer end to end; every step is safe to repeat and the money moves once', async () => {
    const source = await newAccount({ deposit: '100.00' });
    const destination = await newAccount();
    const transferId = await insertTransfer({ source, destination, amount: '42.50' });

    await activities.validateTransfer({ transferId });
    const reserved = await activities.reserveFunds({ transferId });
    expect(await activities.reserveFunds({ transferId })).toEqual(reserved);
    expect(await balances(source)).toEqual({ posted: '100.00', pending: '42.50', available: '57.50' });

    const posted = await activities.postTransfer({ transferId });
    const postedAgain = await activities.postTransfer({ transferId });
    expect(postedAgain).toEqual(posted);
    const txs = (await db('ledger_transactions').where({ transfer_id: transferId })) as LedgerTransactionRow[];
    expect(txs.map((t) => t.id)).toEqual([posted.ledgerTransactionId]);
    expect(txs[0]!.idempotency_key).toBe(ledgerKey(transferId, 'post'));
    expect(await entriesOf(posted.ledgerTransactionId)).toHaveLength(2);
    expect(await balances(source)).toEqual({ posted: '57.50', pending: '0.00', available: '57.50' });
    expect(await balances(destination)).toEqual({ posted: '42.50', pending: '0.00', available: '42.50' });

    // Compensation after posting is refused rather than silently un-reserving.
    const release = await failureOf(activities.releaseFunds({ transferId }));
    expect(release.type).toBe(`Ledger.${LedgerRefusal.ReservationNotPending}`);
    expect(release.nonRetryable).toBe(true);

    await activities.recordTransferOutcome({ transferId, status: 'completed', responseCode: '1', message: 'success' });
    await activities.recordTransferOutcome({ transferId, status: 'failed', responseCode: '606', message: 'contact_support' });
    const row = await transferRow(transferId);
    expect(row.status).toBe('completed');
    expect(row.response_code).toBe('1');
    expect(row.message).toBe('success');
    expect(row.completed_at).toBeInstanceOf(Date);
    expect(row.hold_id).toBe(reserved.holdId);
    expect(row.ledger_transaction_id).toBe(posted.ledgerTransactionId);
    expect((await db('holds').where({ id: reserved.holdId }).first<ReservationRow>()).status).toBe('posted');
    await expectLedgerInvariants(db);
  });

  it('concurrent postTransfer calls post once', async () => {
    const source = await newAccount({ deposit: '100.00' });
    const destination = await newAccount();
    const transferId = await insertTransfer({ source, destination, amount: '70.00' });
    await activities.reserveFunds({ transferId });

    const results = await Promise.all(Array.from({ length: 5 }, () => activities.postTransfer({ transferId })));
    expect(new Set(results.map((r) => r.ledgerTransactionId)).size).toBe(1);
    expect(await db('ledger_transactions').where({ transfer_id: transferId })).toHaveLength(1);
    expect(await balances(source)).toEqual({ posted: '30.00', pending: '0.00', available: '30.00' });
    expect((await balances(destination)).posted).toBe('70.00');
    await expectLedgerInvariants(db);
  });

  it('validateTransfer declines inactive accounts and holders, same account and currencies that are not the accounts’', async () => {
    const expectDecline = async (transferId: string, type: string) => {
      const failure = await failureOf(activities.validateTransfer({ transferId }));
      expect(failure.type).toBe(type);
      expect(failure.nonRetryable).toBe(true);
    };

    const active = await newAccount({ deposit: '50.00' });
    const frozen = await newAccount({ deposit: '50.00' });
    await freeze(frozen);
    await expectDecline(await insertTransfer({ source: frozen, destination: active, amount: '1.00' }), 'AccountNotActive');
    await expectDecline(await insertTransfer({ source: active, destination: frozen, amount: '1.00' }), 'AccountNotActive');

    const suspendedHolder = await newCustomer('suspended');
    const suspendedAccount = await newAccount({ customerId: suspendedHolder });
    await expectDecline(await insertTransfer({ source: suspendedAccount, destination: active, amount: '1.00' }), 'HolderNotActive');
    await expectDecline(await insertTransfer({ source: active, destination: suspendedAccount, amount: '1.00' }), 'HolderNotActive');

    await expectDecline(await insertTransfer({ source: active, destination: active, amount: '1.00' }), 'SameAccount');

    const eur = await newAccount({ currency: 'EUR' });
    // A cross-currency transfer whose currencies match its accounts is valid (it is priced next).
    await expect(activities.validateTransfer({ transferId: await insertTransfer({ source: active, destination: eur, amount: '1.00', targetCurrency: 'EUR' }) })).resolves.toBeUndefined();
    // The transfer's currency is not the accounts'.
    await expectDecline(await insertTransfer({ source: active, destination: eur, amount: '1.00', currency: 'USD' }), 'CurrencyMismatch');
    const usd2 = await newAccount();
    await expectDecline(await insertTransfer({ source: active, destination: usd2, amount: '1.00', currency: 'EUR' }), 'CurrencyMismatch');

    // A system account is not a transfer party.
    const funding = await ledger.getSystemAccount('funding', 'USD');
    await expectDecline(await insertTransfer({ source: active, destination: funding.id, amount: '1.00' }), 'AccountNotFound');

    // And the valid one passes.
    await expect(activities.validateTransfer({ transferId: await insertTransfer({ source: active, destination: usd2, amount: '1.00' }) })).resolves.toBeUndefined();
    expect((await balances(active)).posted).toBe('50.00');
    await expectLedgerInvariants(db);
  });

  it('reserveFunds with too little money declines InsufficientFunds and reserves nothing', async () => {
    const source = await newAccount({ deposit: '10.00' });
    const destination = await newAccount();
    const transferId = await insertTransfer({ source, destination, amount: '10.01' });

    const failure = await failureOf(activities.reserveFunds({ transferId }));
    expect(failure.type).toBe('InsufficientFunds');
    expect(failure.nonRetryable).toBe(true);
    expect(await db('holds').where({ account_id: source })).toHaveLength(0);
    expect((await transferRow(transferId)).hold_id).toBeNull();
    expect(await balances(source)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });

    // Compensation with nothing reserved is a no-op; the decline is recorded.
    await activities.releaseFunds({ transferId });
    await activities.recordTransferOutcome({ transferId, status: 'declined', responseCode: '650', message: 'insufficient_funds' });
    const row = await transferRow(transferId);
    expect(row.status).toBe('declined');
    expect(row.response_code).toBe('650');
    expect(await balances(source)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });
    await expectLedgerInvariants(db);
  });

  it('reserveFunds on a source frozen after validation declines AccountNotActive', async () => {
    const source = await newAccount({ deposit: '10.00' });
    const destination = await newAccount();
    const transferId = await insertTransfer({ source, destination, amount: '5.00' });
    await activities.validateTransfer({ transferId });
    await freeze(source);
    const failure = await failureOf(activities.reserveFunds({ transferId }));
    expect(failure.type).toBe('AccountNotActive');
    expect(failure.nonRetryable).toBe(true);
    expect(await db('holds').where({ account_id: source })).toHaveLength(0);
    await expectLedgerInvariants(db);
  });

  it('releaseFunds gives the reservation back, once, and a released transfer cannot be posted', async () => {
    const source = await newAccount({ deposit: '100.00' });
    const destination = await newAccount();
    const transferId = await insertTransfer({ source, destination, amount: '80.00' });
    const { holdId } = await activities.reserveFunds({ transferId });
    expect((await balances(source)).available).toBe('20.00');

    await activities.releaseFunds({ transferId });
    await activities.releaseFunds({ transferId });
    expect(await balances(source)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });
    expect((await db('holds').where({ id: holdId }).first<ReservationRow>()).status).toBe('voided');

    const failure = await failureOf(activities.postTransfer({ transferId }));
    expect(failure.type).toBe(`Ledger.${LedgerRefusal.ReservationNotPending}`);
    expect(failure.nonRetryable).toBe(true);
    expect(await db('ledger_transactions').where({ transfer_id: transferId })).toHaveLength(0);
    expect(await balances(destination)).toEqual({ posted: '0.00', pending: '0.00', available: '0.00' });
    await expectLedgerInvariants(db);
  });

  it('prepareTransfer never needs a second pool connection inside its transaction: it completes on a pool of one, caches cold', async () => {
    // With every connection of the pool held by a step's transaction, a step that waited inside its
    // transaction for another connection would wait for ever (seen after a restart under load).
    const single = openTestDb(1);
    try {
      const cold = activitiesOver(single);
      const source = await newAccount({ deposit: '20000.00' });
      const destination = await newAccount();
      const approved = await insertTransfer({ source, destination, amount: '10.00' });
      expect(await cold.prepareTransfer({ transferId: approved, holdTtlSeconds: 60 })).toEqual({ next: 'done', outcome: { status: 'completed', responseCode: '1', message: 'success' } });
      const held = await insertTransfer({ source, destination, amount: '12000.00' });
      expect(await cold.prepareTransfer({ transferId: held, holdTtlSeconds: 60 })).toMatchObject({ next: 'await_decision' });
      const refused = await insertTransfer({ source, destination, amount: '9000.00' });
      expect(await cold.prepareTransfer({ transferId: refused, holdTtlSeconds: 60 })).toMatchObject({ next: 'done', outcome: { status: 'declined', responseCode: '650' } });
      expect(await balances(source)).toEqual({ posted: '19990.00', pending: '12000.00', available: '7990.00' });
      expect(await balances(destination)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });
    } finally {
      await single.destroy();
    }
    await expectLedgerInvariants(db);
  });

  it('refuseTransfer finds a movement already posted (a payout in transit) and refuses nothing', async () => {
    const source = await newAccount({ deposit: '50.00' });
    const destination = await newAccount();
    const transferId = await insertTransfer({ source, destination, amount: '20.00' });
    // Posted and still open, as a payout is once in transit (a step the workflow stopped waiting for may do this).
    await activities.postPayout({ transferId });
    expect(await activities.refuseTransfer({ transferId, outcome: { status: 'failed', responseCode: '606', message: 'contact_support: cancelled by an operator' } })).toEqual({ posted: true });
    const row = await transferRow(transferId);
    expect({ status: row.status, response_code: row.response_code }).toEqual({ status: 'processing', response_code: null });
    expect(await db('ledger_transactions').where({ transfer_id: transferId })).toHaveLength(1);
    expect(await balances(source)).toEqual({ posted: '30.00', pending: '0.00', available: '30.00' });
    await expectLedgerInvariants(db);
  });
});
