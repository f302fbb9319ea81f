/**
 * The workflow edge: how what the domains refuse reaches a transfer's or payout's workflow. Each
 * refusal that ends a movement has one row here, with the failure type the Temporal UI shows and
 * the outcome it is recorded with (the movement's status and response code). A step that returns
 * its outcome records it from this table; a step that throws carries the outcome in its failure,
 * so the workflows need no table of their own. The other edge, src/api/refusals.ts, makes the same
 * refusals HTTP answers.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ComplianceRefusal } from '../src/compliance/refusals';
import { LEDGER_REFUSAL_CODES, LedgerRefusal } from '../src/ledger/refusals';
import { PayoutRefusal } from '../src/payouts/refusals';
import { PricingRefusal } from '../src/pricing/refusals';
import { isRefusal, type Refusal } from '../src/refusal';
import { TransferRefusal } from '../src/transfers/refusals';
import { outcomeWith, ResponseCode, TransferFailureType, type RecordedOutcome } from '../workflows/contract';

type MovementEnd = { failureType: string; responseCode: ResponseCode; status: 'declined' | 'failed' };
const declined = (failureType: TransferFailureType, responseCode: ResponseCode = ResponseCode.Declined): MovementEnd => ({ failureType, responseCode, status: 'declined' });

/** Every refusal that ends a transfer or payout, and how it ends it. */
export const MOVEMENT_REFUSALS = {
  [LedgerRefusal.InsufficientFunds]: declined(TransferFailureType.InsufficientFunds, ResponseCode.InsufficientFunds),
  [TransferRefusal.AccountNotFound]: declined(TransferFailureType.AccountNotFound),
  [TransferRefusal.AccountNotActive]: declined(TransferFailureType.AccountNotActive),
  [TransferRefusal.HolderNotActive]: declined(TransferFailureType.HolderNotActive),
  [TransferRefusal.CurrencyMismatch]: declined(TransferFailureType.CurrencyMismatch),
  [TransferRefusal.SameAccount]: declined(TransferFailureType.SameAccount),
  [TransferRefusal.BeneficiaryNotActive]: declined(TransferFailureType.BeneficiaryNotActive),
  [PricingRefusal.FxRateUnavailable]: declined(TransferFailureType.FxRateUnavailable),
  [PricingRefusal.FxRateRequired]: declined(TransferFailureType.FxRateUnavailable),
  [PricingRefusal.InvalidRate]: declined(TransferFailureType.FxRateUnavailable),
  [PricingRefusal.FxRateStale]: declined(TransferFailureType.FxRateStale),
  [PricingRefusal.AmountTooSmall]: declined(TransferFailureType.AmountTooSmall),
  [PricingRefusal.AmountTooLarge]: declined(TransferFailureType.AmountTooLarge),
  [ComplianceRefusal.Declined]: declined(TransferFailureType.ComplianceDeclined, ResponseCode.ComplianceFirewall),
  [ComplianceRefusal.Rejected]: declined(TransferFailureType.ComplianceRejected, ResponseCode.ComplianceFirewall),
  // The rail refusing a payout that was already posted: it fails, and is refunded.
  [PayoutRefusal.RailRejected]: { failureType: TransferFailureType.RailRejected, responseCode: ResponseCode.Declined, status: 'failed' },
} satisfies Record<string, MovementEnd>;

export type MovementRefusalCode = keyof typeof MOVEMENT_REFUSALS;

export const endsMovement = (err: unknown): err is Refusal<MovementRefusalCode> => isRefusal(err) && Object.prototype.hasOwnProperty.call(MOVEMENT_REFUSALS, err.code);

/** The outcome a refusal ends its movement with: its response code, and its reason after the code's message. */
export function outcomeOfRefusal(refusal: Refusal<MovementRefusalCode>): RecordedOutcome {
  const end = MOVEMENT_REFUSALS[refusal.code];
  return outcomeWith(end.status, end.responseCode, refusal.message);
}

/** Postgres classes 22 (data exception) and 23 (integrity constraint): the same statement will fail again. */
const isPermanentDatabaseError = (err: unknown): err is { code: string; message: string } =>
  typeof err === 'object' && err !== null && /^2[23][0-9A-Z]{3}$/.test(String((err as { code?: unknown }).code));

/**
 * What a step's failure tells its workflow: a movement's refusal is a non-retryable failure with
 * its type, carrying the outcome it is recorded with; other ledger refusals and permanent database
 * errors are non-retryable too (the workflow records contact_support); anything else (the database
 * down, a crash) is thrown as it is and retried with backoff.
 */
export function asActivityFailure(err: unknown): unknown {
  if (endsMovement(err)) {
    return ApplicationFailure.create({ type: MOVEMENT_REFUSALS[err.code].failureType, message: err.message, nonRetryable: true, details: [outcomeOfRefusal(err)] });
  }
  if (isRefusal(err)) {
    // States that retrying cannot fix (a released reservation, an unbalanced posting) are not declines,
    // but they are not transient either: fail fast so the workflow compensates.
    const domain = LEDGER_REFUSAL_CODES.includes(err.code) ? 'Ledger' : 'Refusal';
    return ApplicationFailure.create({ type: `${domain}.${err.code}`, message: err.message, nonRetryable: true });
  }
  if (isPermanentDatabaseError(err)) {
    // The message becomes the transfer's (client-visible) message: say what, not the SQL.
    return ApplicationFailure.create({ type: `Database.${err.code}`, message: `the database refused the operation (SQLSTATE ${err.code})`, nonRetryable: true, details: [err.message] });
  }
  return err;
}

/** Every activity of a group reports its failures through asActivityFailure. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
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
