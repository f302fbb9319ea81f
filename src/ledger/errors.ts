/** Why the ledger refused a movement. Mapped to workflow failure types and HTTP codes elsewhere. */
export enum LedgerErrorCode {
  InsufficientFunds = 'insufficient_funds',
  AccountNotFound = 'account_not_found',
  AccountNotActive = 'account_not_active',
  CurrencyMismatch = 'currency_mismatch',
  HoldNotFound = 'hold_not_found',
  HoldNotPending = 'hold_not_pending',
  Unbalanced = 'unbalanced_transaction',
  IdempotencyConflict = 'idempotency_conflict',
}

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}

export const isLedgerError = (err: unknown, code?: LedgerErrorCode): err is LedgerError =>
  err instanceof LedgerError && (code === undefined || err.code === code);
