import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import { isPgError, PG_CHECK_VIOLATION, PG_UNIQUE_VIOLATION } from '../db/knex';
import { Money } from '../money/money';
import { afterCommit, ledgerEntries, ledgerPostings } from '../observability/metrics';
import { Refusal } from '../refusal';
import { LedgerRefusal, type LedgerRefusalCode } from './refusals';
import { trialBalance } from './trial-balance';
import type { AccountRow, AccountWithCurrency, LedgerEntryRow, LedgerTransactionRow, PostedTransaction, ReservationRow } from './model';

/** What each currency's system accounts are for (see the migrations). */
export type SystemPurpose = 'funding' | 'fee_revenue' | 'spread_revenue' | 'fx_position' | 'payouts_in_transit';

export type LedgerDeps = { db: Db; newId?: () => string };

/** One side of a ledger transaction. `amount` is signed: positive credits the account, negative debits it. */
export type Leg = { accountId: string; currency: string; amount: string; description?: string };

export type PostTransactionInput = {
  /** Transfer id + step (or a deposit key). The UNIQUE constraint on it makes a retry return the first posting. */
  idempotencyKey: string;
  kind: LedgerTransactionRow['kind'];
  transferId?: string;
  reference?: string;
  description?: string;
  requestHash?: string;
  legs: Leg[];
  /** A pending reservation that this posting consumes: its amount leaves the account's `pending`. */
  consumeReservationId?: string;
  /** Reversals must land even on a frozen or closed account: undoing a movement is never refused. */
  allowInactiveAccounts?: boolean;
};

export type ReserveInput = {
  idempotencyKey: string;
  accountId: string;
  currency: string;
  amount: string;
  transferId?: string;
};

export type EntriesPage = { entries: LedgerEntryRow[]; nextCursor: string | null };

/** What ledger_post_transaction (migrations/…_ledger_post_function.ts) raises, by SQLSTATE. */
const POSTING_ERRORS: Record<string, LedgerRefusalCode> = {
  LG001: LedgerRefusal.IdempotencyConflict,
  LG002: LedgerRefusal.ReservationNotFound,
  LG003: LedgerRefusal.ReservationNotPending,
};

/**
 * The double-entry ledger over Postgres. Every function that writes takes, last, the database
 * handle to write through: the pool (its own transaction) or a caller's transaction, so that a
 * workflow step can reserve or post and record the transfer's new state in one commit.
 */
export function createLedgerService(deps: LedgerDeps) {
  const { db } = deps;
  const newId = deps.newId ?? randomUUID;

  /** Several accounts in one query, by id (missing ones are absent from the map). */
  async function getAccounts(accountIds: string[], trx: Db = db): Promise<Map<string, AccountWithCurrency>> {
    const rows = (await trx('accounts')
      .join('currencies', 'currencies.code', 'accounts.currency')
      .whereIn('accounts.id', [...new Set(accountIds)])
      .select('accounts.*', 'currencies.minor_units')) as AccountWithCurrency[];
    return new Map(rows.map((r) => [r.id, r]));
  }

  async function getAccount(accountId: string, trx: Db = db): Promise<AccountWithCurrency | undefined> {
    return (await getAccounts([accountId], trx)).get(accountId);
  }

  /** Locks accounts in id order for the caller's transaction, before it posts several times (no deadlocks). */
  async function lockAccounts(accountIds: string[], trx: Db): Promise<void> {
    await trx('accounts').whereIn('id', [...new Set(accountIds)]).orderBy('id').forNoKeyUpdate().select('id');
  }

  // System accounts are created by migrations and never change: look each up once.
  const systemAccounts = new Map<string, Promise<AccountRow>>();
  /** The system account of a purpose (funding, fee_revenue, spread_revenue, fx_position) in a currency. */
  function getSystemAccount(purpose: SystemPurpose, currency: string): Promise<AccountRow> {
    const key = `${purpose}:${currency.trim()}`;
    let found = systemAccounts.get(key);
    if (!found) {
      found = db('accounts')
        .where({ kind: 'system', system_purpose: purpose, currency: currency.trim() })
        .first<AccountRow | undefined>()
        .then((row) => {
          if (!row) throw new Refusal(LedgerRefusal.AccountNotFound, `No ${purpose} account for ${currency}`);
          return row;
        });
      found.catch(() => systemAccounts.delete(key));
      systemAccounts.set(key, found);
    }
    return found;
  }

  async function findTransaction(idempotencyKey: string, trx: Db = db): Promise<PostedTransaction | undefined> {
    const tx = await trx('ledger_transactions').where({ idempotency_key: idempotencyKey }).first<LedgerTransactionRow | undefined>();
    if (!tx) return undefined;
    const entries = (await trx('ledger_entries').where({ transaction_id: tx.id }).orderBy('seq', 'asc')) as LedgerEntryRow[];
    return { ...tx, entries };
  }

  /**
   * Reserves `amount` of an account's available balance (phase one of a two-phase movement): the
   * amount moves into the account's `pending`, as a row of the `holds` table. The conditional UPDATE
   * is the overdraft guard: concurrent reservations serialise on the account row and only those that
   * still fit succeed. Nothing is written when it refuses, so a caller's transaction can record the
   * refusal instead. Repeating the same key returns the first reservation.
   */
  async function reserve(input: ReserveInput, trx?: Db): Promise<ReservationRow> {
    const amount = new Money(input.amount);
    if (!amount.gt(0)) throw new Refusal(LedgerRefusal.Unbalanced, 'A reservation must be for a positive amount');
    if (trx) return reserveIn(trx, input, amount);
    try {
      return await db.transaction((own) => reserveIn(own, input, amount));
    } catch (err) {
      // A concurrent duplicate of this reservation committed first: its reservation is the answer.
      if (isPgError(err, PG_UNIQUE_VIOLATION, 'holds_idempotency_key_uq')) return reserveIn(db, input, amount);
      throw err;
    }
  }

  async function reserveIn(trx: Db, input: ReserveInput, amount: Money): Promise<ReservationRow> {
    // One statement: the reservation this key already made (a repeat), or a new one if the account is
    // active, in the currency, and its available balance covers the amount.
    const { rows } = await trx.raw(
      `WITH existing AS (SELECT * FROM holds WHERE idempotency_key = :key),
       reserved AS (
         UPDATE accounts SET pending = pending + :amount::numeric, updated_at = now()
          WHERE id = :account AND currency = :currency AND status = 'active' AND posted - pending >= :amount::numeric
            AND NOT EXISTS (SELECT 1 FROM existing)
         RETURNING id
       ),
       inserted AS (
         INSERT INTO holds (id, idempotency_key, account_id, currency, amount, transfer_id)
         SELECT :id, :key, id, :currency, :amount::numeric, :transfer FROM reserved
         RETURNING *
       )
       SELECT *, false AS replayed FROM inserted UNION ALL SELECT *, true AS replayed FROM existing`,
      { key: input.idempotencyKey, amount: amount.toString(), account: input.accountId, currency: input.currency, id: newId(), transfer: input.transferId ?? null },
    );
    const [found] = rows as Array<ReservationRow & { replayed: boolean }>;
    if (found) {
      const { replayed, ...reservation } = found;
      if (replayed && (reservation.account_id !== input.accountId || !new Money(reservation.amount).eq(amount))) {
        throw new Refusal(LedgerRefusal.IdempotencyConflict, `Reservation ${input.idempotencyKey} exists with other terms`);
      }
      return reservation;
    }
    // Nothing reserved: say why.
    const account = await trx('accounts').where({ id: input.accountId }).first<AccountRow | undefined>();
    if (!account) throw new Refusal(LedgerRefusal.AccountNotFound, `Account ${input.accountId} not found`);
    if (account.currency !== input.currency) {
      throw new Refusal(LedgerRefusal.CurrencyMismatch, `Account ${account.id} holds ${account.currency}, not ${input.currency}`);
    }
    if (account.status !== 'active') throw new Refusal(LedgerRefusal.AccountNotActive, `Account ${account.id} is ${account.status}`);
    throw new Refusal(LedgerRefusal.InsufficientFunds, 'The available balance does not cover the amount');
  }

  /** Releases a pending reservation without moving money. Releasing a released one is a no-op; a posted one cannot be released. */
  async function releaseReservation(reservationId: string, trx?: Db): Promise<ReservationRow> {
    const run = async (t: Db) => {
      const [voided] = await t('holds')
        .where({ id: reservationId, status: 'pending' })
        .update({ status: 'voided', resolved_at: t.fn.now() })
        .returning<ReservationRow[]>('*');
      if (voided) {
        await t('accounts').where({ id: voided.account_id }).update({ pending: t.raw('pending - ?', [voided.amount]), updated_at: t.fn.now() });
        return voided;
      }
      const reservation = await t('holds').where({ id: reservationId }).first<ReservationRow | undefined>();
      if (!reservation) throw new Refusal(LedgerRefusal.ReservationNotFound, `Reservation ${reservationId} not found`);
      if (reservation.status === 'posted') throw new Refusal(LedgerRefusal.ReservationNotPending, `Reservation ${reservationId} is already posted`);
      return reservation;
    };
    return trx ? run(trx) : db.transaction(run);
  }

  /**
   * Writes one balanced ledger transaction and updates the stored balances, in one statement
   * (ledger_post_transaction): accounts locked in id order, each entry with its account's balance
   * after it. The idempotency key makes the call safe to repeat: a repeat returns the first posting.
   * A business refusal (insufficient funds, an inactive or missing account, another currency) is
   * returned with nothing written, so the caller's transaction can go on and record it.
   */
  async function tryPostTransaction(input: PostTransactionInput, trx: Db = db): Promise<{ posted: PostedTransaction } | { refused: Refusal<LedgerRefusalCode> }> {
    assertBalanced(input.legs);
    const request = {
      id: newId(),
      idempotency_key: input.idempotencyKey,
      kind: input.kind,
      transfer_id: input.transferId ?? null,
      reference: input.reference ?? null,
      description: input.description ?? null,
      request_hash: input.requestHash ?? null,
      settle_hold_id: input.consumeReservationId ?? null,
      allow_inactive: input.allowInactiveAccounts ?? false,
      legs: input.legs.map((l) => ({ account_id: l.accountId, currency: l.currency, amount: new Money(l.amount).toString(), description: l.description ?? null })),
    };
    let rows: PostingRow[];
    try {
      rows = (await trx.raw('SELECT * FROM ledger_post_transaction(?::jsonb)', [JSON.stringify(request)])).rows as PostingRow[];
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      const refusal = POSTING_ERRORS[code];
      if (refusal) throw new Refusal(refusal, (err as Error).message);
      // The no-overdraft CHECK is the backstop behind the function's own check.
      if (isPgError(err, PG_CHECK_VIOLATION)) throw new Refusal(LedgerRefusal.InsufficientFunds, 'Posting would overdraw an account');
      throw err;
    }
    const first = rows[0];
    if (first?.refusal) return { refused: new Refusal(first.refusal as LedgerRefusalCode, first.refusal_message ?? first.refusal) };
    if (first && !first.replayed) afterCommit(trx, () => countPosting(rows));
    return { posted: postedFromRows(rows) };
  }

  /** tryPostTransaction, with a refusal thrown. */
  async function postTransaction(input: PostTransactionInput, trx: Db = db): Promise<PostedTransaction> {
    const attempt = await tryPostTransaction(input, trx);
    if ('refused' in attempt) throw attempt.refused;
    return attempt.posted;
  }

  /**
   * Undoes a posted ledger transaction with a new one whose entries are its exact opposites
   * (nothing is edited in place). Repeating it with the same key returns the first reversal.
   */
  async function reverseTransaction(
    input: { originalId: string; idempotencyKey: string; kind: PostTransactionInput['kind']; transferId?: string; description: string },
    trx: Db = db,
  ): Promise<PostedTransaction> {
    const original = (await trx('ledger_entries').where({ transaction_id: input.originalId }).orderBy('seq')) as LedgerEntryRow[];
    if (original.length === 0) throw new Refusal(LedgerRefusal.Unbalanced, `Ledger transaction ${input.originalId} has no entries`);
    return postTransaction(
      {
        idempotencyKey: input.idempotencyKey,
        kind: input.kind,
        transferId: input.transferId,
        description: input.description,
        allowInactiveAccounts: true,
        legs: original.map((e) => ({ accountId: e.account_id, currency: e.currency.trim(), amount: new Money(e.amount).neg().toString(), description: input.description })),
      },
      trx,
    );
  }

  /** Moves money from the currency's funding (omnibus) account into a customer account. */
  async function deposit(input: { accountId: string; amount: string; reference: string; idempotencyKey: string; requestHash?: string }): Promise<PostedTransaction> {
    const account = await getAccount(input.accountId);
    if (!account || account.kind !== 'customer') {
      throw new Refusal(LedgerRefusal.AccountNotFound, `Account ${input.accountId} not found`);
    }
    const funding = await getSystemAccount('funding', account.currency);
    return postTransaction({
      idempotencyKey: input.idempotencyKey,
      kind: 'deposit',
      reference: input.reference,
      description: `Deposit: ${input.reference}`,
      requestHash: input.requestHash,
      legs: [
        { accountId: funding.id, currency: account.currency, amount: new Money(input.amount).neg().toString() },
        { accountId: account.id, currency: account.currency, amount: input.amount },
      ],
    });
  }

  /** An account's entries, newest first. The cursor is the last seen entry's sequence number. */
  async function listEntries(accountId: string, opts: { limit: number; before?: string }): Promise<EntriesPage> {
    const q = db('ledger_entries').where({ account_id: accountId }).orderBy('seq', 'desc').limit(opts.limit + 1);
    if (opts.before) q.andWhere('seq', '<', opts.before);
    const rows = (await q) as LedgerEntryRow[];
    const page = rows.slice(0, opts.limit);
    return { entries: page, nextCursor: rows.length > opts.limit ? (page[page.length - 1]?.seq ?? null) : null };
  }

  /** Whether the account has the entry with this sequence number (what a list cursor names). */
  async function hasEntry(accountId: string, seq: string): Promise<boolean> {
    return (await db('ledger_entries').where({ account_id: accountId, seq }).first('id')) !== undefined;
  }

  return {
    getAccount,
    getAccounts,
    lockAccounts,
    getSystemAccount,
    findTransaction,
    reserve,
    releaseReservation,
    tryPostTransaction,
    postTransaction,
    reverseTransaction,
    deposit,
    listEntries,
    hasEntry,
    trialBalance: () => trialBalance(db),
  };
}

export type LedgerService = ReturnType<typeof createLedgerService>;

/** A row of ledger_post_transaction's result: the transaction's columns, then one entry's. */
/** A new posting (not a replay), in the metrics: one transaction of its kind, and its entries by currency. */
function countPosting(rows: PostingRow[]): void {
  const kind = rows[0]?.kind ?? 'unknown';
  ledgerPostings.inc({ kind });
  for (const r of rows) ledgerEntries.inc({ kind, currency: r.currency.trim() });
}

type PostingRow = {
  /** True when the idempotency key was posted before: the first posting is returned, nothing is written. */
  replayed: boolean | null;
  /** A LedgerRefusal code when the posting was refused (then nothing else is set). */
  refusal: string | null;
  refusal_message: string | null;
  transaction_id: string;
  idempotency_key: string;
  kind: LedgerTransactionRow['kind'];
  transfer_id: string | null;
  reference: string | null;
  transaction_description: string | null;
  request_hash: string | null;
  transaction_created_at: Date;
  entry_id: string;
  seq: string;
  account_id: string;
  currency: string;
  amount: string;
  balance_after: string;
  entry_description: string | null;
  entry_created_at: Date;
};

function postedFromRows(rows: PostingRow[]): PostedTransaction {
  const first = rows[0];
  if (!first) throw new Refusal(LedgerRefusal.Unbalanced, 'The posting returned no entries');
  return {
    id: first.transaction_id,
    idempotency_key: first.idempotency_key,
    kind: first.kind,
    transfer_id: first.transfer_id,
    reference: first.reference,
    description: first.transaction_description,
    request_hash: first.request_hash,
    created_at: first.transaction_created_at,
    entries: rows.map((r) => ({
      id: r.entry_id,
      seq: r.seq,
      transaction_id: r.transaction_id,
      account_id: r.account_id,
      currency: r.currency,
      amount: r.amount,
      balance_after: r.balance_after,
      description: r.entry_description,
      created_at: r.entry_created_at,
    })),
  };
}

function assertBalanced(legs: Leg[]): void {
  if (legs.length < 2) throw new Refusal(LedgerRefusal.Unbalanced, 'A ledger transaction needs at least two legs');
  const totals = new Map<string, Money>();
  for (const leg of legs) {
    const amount = new Money(leg.amount);
    if (amount.isZero()) throw new Refusal(LedgerRefusal.Unbalanced, 'A leg cannot be zero');
    totals.set(leg.currency, (totals.get(leg.currency) ?? new Money(0)).plus(amount));
  }
  for (const [currency, total] of totals) {
    if (!total.isZero()) throw new Refusal(LedgerRefusal.Unbalanced, `Legs sum to ${total.toString()} ${currency}, not zero`);
  }
}
