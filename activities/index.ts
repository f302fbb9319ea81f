import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../src/db/knex';
import { isLedgerError, LedgerErrorCode } from '../src/ledger/errors';
import type { LedgerService } from '../src/ledger/service';
import type { AccountRow } from '../src/ledger/model';
import { Money } from '../src/money/money';
import { TransferFailureType } from '../src/transfers/outcomes';
import type { TransferOutcomeRecord, TransferRepository } from '../src/transfers/repository';
import type { TransferRow } from '../src/transfers/model';

export type ActivityDeps = {
  db: Db;
  ledger: LedgerService;
  transfers: TransferRepository;
};

export type TransferRef = { transferId: string };

/** Idempotency keys of a transfer's ledger writes: the transfer id plus the step. */
export const ledgerKey = (transferId: string, step: 'reserve' | 'post') => `transfer:${transferId}:${step}`;

const decline = (type: TransferFailureType, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** Ledger refusals that are business outcomes; anything else is infrastructure and retried. */
const LEDGER_DECLINES: Partial<Record<LedgerErrorCode, TransferFailureType>> = {
  [LedgerErrorCode.InsufficientFunds]: TransferFailureType.InsufficientFunds,
  [LedgerErrorCode.AccountNotActive]: TransferFailureType.AccountNotActive,
  [LedgerErrorCode.AccountNotFound]: TransferFailureType.AccountNotFound,
  [LedgerErrorCode.CurrencyMismatch]: TransferFailureType.CurrencyMismatch,
};

/** Postgres classes 22 (data exception) and 23 (integrity constraint): the same statement will fail again. */
const isPermanentDatabaseError = (err: unknown): err is { code: string; message: string } =>
  typeof err === 'object' && err !== null && /^2[23][0-9A-Z]{3}$/.test(String((err as { code?: unknown }).code));

function asActivityFailure(err: unknown): unknown {
  if (isLedgerError(err)) {
    const type = LEDGER_DECLINES[err.code];
    if (type) return decline(type, err.message);
    // Ledger states that retrying cannot fix (a voided hold, an unbalanced posting) are not declines
    // but they are not transient either: fail fast so the workflow compensates.
    return ApplicationFailure.create({ type: `Ledger.${err.code}`, message: err.message, nonRetryable: true });
  }
  if (isPermanentDatabaseError(err)) {
    return ApplicationFailure.create({ type: `Database.${err.code}`, message: err.message, nonRetryable: true });
  }
  return err;
}

/**
 * Activities of the transfer workflow, built over explicit dependencies so tests can pass real
 * ones (a real Postgres) or wrap them (to simulate a crash). Each is safe to run more than once.
 */
export function createActivities(deps: ActivityDeps) {
  const { db, ledger, transfers } = deps;

  type Party = AccountRow & { customer_status: string | null };
  const loadParty = (accountId: string) =>
    db('accounts')
      .leftJoin('customers', 'customers.id', 'accounts.customer_id')
      .where('accounts.id', accountId)
      .first<Party | undefined>('accounts.*', 'customers.status as customer_status');

  /** Seed 002's general considerations: both accounts active, their holders active; same currency for now. */
  async function validateTransfer({ transferId }: TransferRef): Promise<void> {
    const t = await transfers.mustGet(transferId);
    if (t.source_account_id === t.destination_account_id) {
      throw decline(TransferFailureType.SameAccount, 'Source and destination accounts must differ');
    }
    const [source, destination] = await Promise.all([loadParty(t.source_account_id), loadParty(t.destination_account_id)]);
    for (const [role, party] of [['source', source], ['destination', destination]] as const) {
      if (!party || party.kind !== 'customer') {
        throw decline(TransferFailureType.AccountNotFound, `The ${role} account does not exist`);
      }
      // The payer may learn its own account's state, never the payee's.
      if (party.status !== 'active') {
        throw decline(
          TransferFailureType.AccountNotActive,
          role === 'source' ? `The source account is ${party.status}` : 'The destination account cannot receive funds',
        );
      }
      if (party.customer_status !== 'active') {
        throw decline(
          TransferFailureType.HolderNotActive,
          role === 'source' ? `The source account holder is ${party.customer_status}` : 'The destination account cannot receive funds',
        );
      }
    }
    if (source!.currency !== t.source_currency || destination!.currency !== t.target_currency) {
      throw decline(TransferFailureType.CurrencyMismatch, 'Amount currencies must match the accounts');
    }
    if (t.source_currency !== t.target_currency) {
      throw decline(TransferFailureType.CurrencyMismatch, 'Cross-currency transfers are not supported yet');
    }
  }

  /** Phase one: a hold on the source's available balance. */
  async function reserveFunds({ transferId }: TransferRef): Promise<{ holdId: string }> {
    const t = await transfers.mustGet(transferId);
    const hold = await ledger.reserve({
      idempotencyKey: ledgerKey(transferId, 'reserve'),
      accountId: t.source_account_id,
      currency: t.source_currency,
      amount: t.source_amount,
      transferId,
    });
    await transfers.linkHold(transferId, hold.id);
    return { holdId: hold.id };
  }

  /** Phase two: the balanced entries, consuming the hold. Returns the first posting when repeated. */
  async function postTransfer({ transferId }: TransferRef): Promise<{ ledgerTransactionId: string }> {
    const t = await transfers.mustGet(transferId);
    if (!t.hold_id) throw new Error(`Transfer ${transferId} has no hold to post`);
    const posted = await ledger.postTransaction({
      idempotencyKey: ledgerKey(transferId, 'post'),
      kind: 'transfer',
      transferId,
      reference: t.reference,
      description: t.description ?? t.reference,
      settleHoldId: t.hold_id,
      legs: transferLegs(t),
    });
    await transfers.linkLedgerTransaction(transferId, posted.id);
    return { ledgerTransactionId: posted.id };
  }

  /** Compensation for reserveFunds: gives the reserved amount back to the available balance. */
  async function releaseFunds({ transferId }: TransferRef): Promise<void> {
    const t = await transfers.mustGet(transferId);
    if (!t.hold_id) return;
    await ledger.voidHold(t.hold_id);
  }

  async function recordTransferOutcome(input: TransferRef & TransferOutcomeRecord): Promise<void> {
    const { transferId, ...outcome } = input;
    await transfers.recordOutcome(transferId, outcome);
  }

  return withFailureMapping({ validateTransfer, reserveFunds, postTransfer, releaseFunds, recordTransferOutcome });
}

/** Every activity reports ledger refusals and permanent database errors as non-retryable failures. */
function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw asActivityFailure(err);
        }
      },
    ]),
  ) as T;
}

export type TransferActivities = ReturnType<typeof createActivities>;

/** Same-currency transfer: the source is debited and the destination credited the same amount. */
function transferLegs(t: TransferRow) {
  const amount = new Money(t.source_amount);
  return [
    { accountId: t.source_account_id, currency: t.source_currency, amount: amount.neg().toString(), description: t.reference },
    { accountId: t.destination_account_id, currency: t.target_currency, amount: amount.toString(), description: t.reference },
  ];
}
