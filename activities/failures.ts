import { ApplicationFailure } from '@temporalio/common';
import { isLedgerError } from '../src/ledger/errors';
import { LEDGER_DECLINES } from '../src/transfers/movements';
import type { TransferFailureType } from '../src/transfers/outcomes';

/** A business refusal: the workflow records it (with its response code) instead of retrying. */
export const decline = (type: TransferFailureType, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

/** Postgres classes 22 (data exception) and 23 (integrity constraint): the same statement will fail again. */
const isPermanentDatabaseError = (err: unknown): err is { code: string; message: string } =>
  typeof err === 'object' && err !== null && /^2[23][0-9A-Z]{3}$/.test(String((err as { code?: unknown }).code));

/**
 * Ledger refusals and permanent database errors become non-retryable failures with a `type`;
 * anything else (database down, a crash) is thrown as it is and retried with backoff.
 */
export function asActivityFailure(err: unknown): unknown {
  if (isLedgerError(err)) {
    const type = LEDGER_DECLINES[err.code];
    if (type) return decline(type, err.message);
    // Ledger states that retrying cannot fix (a voided hold, an unbalanced posting) are not declines
    // but they are not transient either: fail fast so the workflow compensates.
    return ApplicationFailure.create({ type: `Ledger.${err.code}`, message: err.message, nonRetryable: true });
  }
  if (isPermanentDatabaseError(err)) {
    // The message becomes the transfer's (client-visible) message: say what, not the SQL.
    return ApplicationFailure.create({
      type: `Database.${err.code}`,
      message: `the database refused the operation (SQLSTATE ${err.code})`,
      nonRetryable: true,
      details: [err.message],
    });
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
