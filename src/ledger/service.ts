import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { isPgError, PG_CHECK_VIOLATION, PG_FOREIGN_KEY_VIOLATION } from '../db/knex';
import { Money } from '../money/money';
import { LedgerError, LedgerErrorCode } from './errors';
import type {
  AccountRow,
  AccountWithCurrency,
  HoldRow,
  LedgerEntryRow,
  LedgerTransactionRow,
  PostedTransaction,
} from './model';

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
  /** A pending hold that this posting consumes: its amount leaves the account's `pending`. */
  settleHoldId?: string;
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

export function createLedgerService(deps: LedgerDeps) {
  const { db } = deps;
  const newId = deps.newId ?? randomUUID;

  async function getAccount(accountId: string, trx: Knex | Knex.Transaction = db): Promise<AccountWithCurrency | undefined> {
    return trx('accounts')
      .join('currencies', 'currencies.code', 'accounts.currency')
      .where('accounts.id', accountId)
      .first<AccountWithCurrency | undefined>('accounts.*', 'currencies.minor_units');
  }

  // System accounts are created by migrations and never change: look each up once.
  const systemAccounts = new Map<string, Promise<AccountRow>>();
  /** The system account of a purpose (funding, fee_revenue, spread_revenue, fx_position) in a currency. */
  function getSystemAccount(purpose: SystemPurpose, currency: string): Promise<AccountRow> {
    const key = `${purpose}:${currency}`;
    let found = systemAccounts.get(key);
    if (!found) {
      found = db('accounts')
        .where({ kind: 'system', system_purpose: purpose, currency })
        .first<AccountRow | undefined>()
        .then((row) => {
          if (!row) throw new LedgerError(LedgerErrorCode.AccountNotFound, `No ${purpose} account for ${currency}`);
          return row;
        });
      found.catch(() => systemAccounts.delete(key));
      systemAccounts.set(key, found);
    }
    return found;
  }

  async function loadPosted(trx: Knex | Knex.Transaction, tx: LedgerTransactionRow): Promise<PostedTransaction> {
    const entries = await trx('ledger_entries').where({ transaction_id: tx.id }).orderBy('seq', 'asc');
    return { ...tx, entries: entries as LedgerEntryRow[] };
  }

  async function findTransaction(idempotencyKey: string, trx: Knex | Knex.Transaction = db): Promise<PostedTransaction | undefined> {
    const tx = await trx('ledger_transactions').where({ idempotency_key: idempotencyKey }).first<LedgerTransactionRow | undefined>();
    return tx ? loadPosted(trx, tx) : undefined;
  }

  /**
   * Reserves `amount` of an account's available balance (phase one of a two-phase movement).
   * The conditional UPDATE is the overdraft guard: concurrent reservations serialise on the
   * account row and only those that still fit succeed. Repeating the same key returns the first hold.
   */
  async function reserve(input: ReserveInput): Promise<HoldRow> {
    const amount = new Money(input.amount);
    if (!amount.gt(0)) throw new LedgerError(LedgerErrorCode.Unbalanced, 'A hold must be for a positive amount');
    return db.transaction(async (trx) => {
      const [inserted] = await trx('holds')
        .insert({
          id: newId(),
          idempotency_key: input.idempotencyKey,
          account_id: input.accountId,
          currency: input.currency,
          amount: amount.toString(),
          transfer_id: input.transferId ?? null,
        })
        .onConflict('idempotency_key')
        .ignore()
        .returning<HoldRow[]>('*')
        .catch((err: unknown) => {
          // The hold's foreign key fires before the account check below could say why.
          if (isPgError(err, PG_FOREIGN_KEY_VIOLATION, 'holds_account_id_fkey')) {
            throw new LedgerError(LedgerErrorCode.AccountNotFound, `Account ${input.accountId} not found`);
          }
          throw err;
        });
      if (!inserted) {
        const existing = await trx('holds').where({ idempotency_key: input.idempotencyKey }).first<HoldRow>();
        if (existing.account_id !== input.accountId || !new Money(existing.amount).eq(amount)) {
          throw new LedgerError(LedgerErrorCode.IdempotencyConflict, `Hold ${input.idempotencyKey} exists with other terms`);
        }
        return existing;
      }
      const updated = await trx('accounts')
        .where({ id: input.accountId, currency: input.currency, status: 'active' })
        .andWhereRaw('posted - pending >= ?', [amount.toString()])
        .update({ pending: trx.raw('pending + ?', [amount.toString()]), updated_at: trx.fn.now() })
        .returning('id');
      if (updated.length === 0) {
        // Nothing reserved: say why, and let the transaction roll the hold back.
        const account = await trx('accounts').where({ id: input.accountId }).first<AccountRow | undefined>();
        if (!account) throw new LedgerError(LedgerErrorCode.AccountNotFound, `Account ${input.accountId} not found`);
        if (account.currency !== input.currency) {
          throw new LedgerError(LedgerErrorCode.CurrencyMismatch, `Account ${account.id} holds ${account.currency}, not ${input.currency}`);
        }
        if (account.status !== 'active') {
          throw new LedgerError(LedgerErrorCode.AccountNotActive, `Account ${account.id} is ${account.status}`);
        }
        throw new LedgerError(LedgerErrorCode.InsufficientFunds, 'The available balance does not cover the amount');
      }
      return inserted;
    });
  }

  /** Releases a pending hold without moving money. Voiding a voided hold is a no-op; a posted hold cannot be voided. */
  async function voidHold(holdId: string): Promise<HoldRow> {
    return db.transaction(async (trx) => {
      const hold = await trx('holds').where({ id: holdId }).forNoKeyUpdate().first<HoldRow | undefined>();
      if (!hold) throw new LedgerError(LedgerErrorCode.HoldNotFound, `Hold ${holdId} not found`);
      if (hold.status === 'voided') return hold;
      if (hold.status === 'posted') throw new LedgerError(LedgerErrorCode.HoldNotPending, `Hold ${holdId} is already posted`);
      await trx('accounts')
        .where({ id: hold.account_id })
        .update({ pending: trx.raw('pending - ?', [hold.amount]), updated_at: trx.fn.now() });
      const [voided] = await trx('holds')
        .where({ id: holdId })
        .update({ status: 'voided', resolved_at: trx.fn.now() })
        .returning<HoldRow[]>('*');
      return voided as HoldRow;
    });
  }

  /**
   * Writes one balanced ledger transaction and updates the stored balances in the same database
   * transaction. Accounts are locked in id order so concurrent postings cannot deadlock; each entry
   * records its account's balance after it. The idempotency key makes the call safe to repeat.
   */
  async function postTransaction(input: PostTransactionInput): Promise<PostedTransaction> {
    assertBalanced(input.legs);
    // Every way a repeat can find the first posting goes through here: same key, other request → refused.
    const replay = (first: PostedTransaction): PostedTransaction => {
      if (input.requestHash !== undefined && first.request_hash !== input.requestHash) {
        throw new LedgerError(LedgerErrorCode.IdempotencyConflict, 'Idempotency key was used with a different request');
      }
      return first;
    };
    const first = await findTransaction(input.idempotencyKey);
    if (first) return replay(first);
    try {
      return await db.transaction(async (trx) => {
        let hold: HoldRow | undefined;
        if (input.settleHoldId) {
          hold = await trx('holds').where({ id: input.settleHoldId }).forNoKeyUpdate().first<HoldRow | undefined>();
          if (!hold) throw new LedgerError(LedgerErrorCode.HoldNotFound, `Hold ${input.settleHoldId} not found`);
          // Holding the hold's lock, a repeat of this posting now sees the first one if it committed.
          const again = await findTransaction(input.idempotencyKey, trx);
          if (again) return replay(again);
          if (hold.status !== 'pending') {
            throw new LedgerError(LedgerErrorCode.HoldNotPending, `Hold ${hold.id} is ${hold.status}`);
          }
        }

        const [tx] = await trx('ledger_transactions')
          .insert({
            id: newId(),
            idempotency_key: input.idempotencyKey,
            kind: input.kind,
            transfer_id: input.transferId ?? null,
            reference: input.reference ?? null,
            description: input.description ?? null,
            request_hash: input.requestHash ?? null,
          })
          .onConflict('idempotency_key')
          .ignore()
          .returning<LedgerTransactionRow[]>('*');
        if (!tx) {
          // A concurrent duplicate committed first (it held the unique index); return its result.
          const winner = await findTransaction(input.idempotencyKey, trx);
          if (!winner) throw new Error(`Ledger transaction ${input.idempotencyKey} vanished`);
          return replay(winner);
        }

        const accountIds = [...new Set(input.legs.map((l) => l.accountId))].sort();
        const locked = (await trx('accounts').whereIn('id', accountIds).orderBy('id').forNoKeyUpdate()) as AccountRow[];
        const byId = new Map(locked.map((a) => [a.id, a]));
        for (const id of accountIds) {
          const account = byId.get(id);
          if (!account) throw new LedgerError(LedgerErrorCode.AccountNotFound, `Account ${id} not found`);
          if (account.status !== 'active' && !input.allowInactiveAccounts) {
            throw new LedgerError(LedgerErrorCode.AccountNotActive, `Account ${id} is ${account.status}`);
          }
        }
        if (hold && !byId.has(hold.account_id)) {
          throw new LedgerError(LedgerErrorCode.HoldNotPending, `Hold ${hold.id} is on an account this posting does not touch`);
        }

        // Running balances, leg by leg, starting from the locked stored balance.
        const running = new Map(locked.map((a) => [a.id, new Money(a.posted)]));
        const entries = input.legs.map((leg) => {
          const account = byId.get(leg.accountId) as AccountRow;
          if (account.currency !== leg.currency) {
            throw new LedgerError(LedgerErrorCode.CurrencyMismatch, `Account ${account.id} holds ${account.currency}, not ${leg.currency}`);
          }
          const balance = (running.get(leg.accountId) as Money).plus(leg.amount);
          running.set(leg.accountId, balance);
          return {
            id: newId(),
            transaction_id: tx.id,
            account_id: leg.accountId,
            currency: leg.currency,
            amount: new Money(leg.amount).toString(),
            balance_after: balance.toString(),
            description: leg.description ?? input.description ?? null,
          };
        });

        for (const id of accountIds) {
          const pendingRelease = hold && hold.account_id === id ? hold.amount : '0';
          await trx('accounts')
            .where({ id })
            .update({
              posted: (running.get(id) as Money).toString(),
              pending: trx.raw('pending - ?', [pendingRelease]),
              updated_at: trx.fn.now(),
            });
        }
        const inserted = (await trx('ledger_entries').insert(entries).returning('*')) as LedgerEntryRow[];
        if (hold) {
          await trx('holds').where({ id: hold.id }).update({ status: 'posted', resolved_at: trx.fn.now() });
        }
        inserted.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
        return { ...tx, entries: inserted };
      });
    } catch (err) {
      if (isPgError(err, PG_CHECK_VIOLATION)) {
        // The no-overdraft CHECK is the backstop behind holds: report it as what it means.
        throw new LedgerError(LedgerErrorCode.InsufficientFunds, 'Posting would overdraw an account');
      }
      throw err;
    }
  }

  /**
   * Undoes a posted ledger transaction with a new one whose entries are its exact opposites
   * (nothing is edited in place). Repeating it with the same key returns the first reversal.
   */
  async function reverseTransaction(input: { originalId: string; idempotencyKey: string; kind: PostTransactionInput['kind']; transferId?: string; description: string }): Promise<PostedTransaction> {
    const original = (await db('ledger_entries').where({ transaction_id: input.originalId }).orderBy('seq')) as LedgerEntryRow[];
    if (original.length === 0) throw new LedgerError(LedgerErrorCode.Unbalanced, `Ledger transaction ${input.originalId} has no entries`);
    return postTransaction({
      idempotencyKey: input.idempotencyKey,
      kind: input.kind,
      transferId: input.transferId,
      description: input.description,
      allowInactiveAccounts: true,
      legs: original.map((e) => ({ accountId: e.account_id, currency: e.currency.trim(), amount: new Money(e.amount).neg().toString(), description: input.description })),
    });
  }

  /** Moves money from the currency's funding (omnibus) account into a customer account. */
  async function deposit(input: {
    accountId: string;
    amount: string;
    reference: string;
    idempotencyKey: string;
    requestHash?: string;
  }): Promise<PostedTransaction> {
    const account = await getAccount(input.accountId);
    if (!account || account.kind !== 'customer') {
      throw new LedgerError(LedgerErrorCode.AccountNotFound, `Account ${input.accountId} not found`);
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

  return { getAccount, getSystemAccount, findTransaction, reserve, voidHold, postTransaction, reverseTransaction, deposit, listEntries };
}

export type LedgerService = ReturnType<typeof createLedgerService>;

function assertBalanced(legs: Leg[]): void {
  if (legs.length < 2) throw new LedgerError(LedgerErrorCode.Unbalanced, 'A ledger transaction needs at least two legs');
  const totals = new Map<string, Money>();
  for (const leg of legs) {
    const amount = new Money(leg.amount);
    if (amount.isZero()) throw new LedgerError(LedgerErrorCode.Unbalanced, 'A leg cannot be zero');
    totals.set(leg.currency, (totals.get(leg.currency) ?? new Money(0)).plus(amount));
  }
  for (const [currency, total] of totals) {
    if (!total.isZero()) throw new LedgerError(LedgerErrorCode.Unbalanced, `Legs sum to ${total.toString()} ${currency}, not zero`);
  }
}
