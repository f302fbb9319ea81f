import type { CodeOf } from '../refusal';

/**
 * What the ledger refuses. The first four are a movement's business outcome (a transfer declined
 * for insufficient funds, say); the others are states retrying cannot fix. A reservation's codes
 * keep their recorded spelling (`hold_…`): they appear in running workflows' failure types.
 */
export const LedgerRefusal = {
  InsufficientFunds: 'insufficient_funds',
  AccountNotFound: 'account_not_found',
  AccountNotActive: 'account_not_active',
  CurrencyMismatch: 'currency_mismatch',
  ReservationNotFound: 'hold_not_found',
  ReservationNotPending: 'hold_not_pending',
  Unbalanced: 'unbalanced_transaction',
  IdempotencyConflict: 'idempotency_conflict',
} as const;
export type LedgerRefusalCode = CodeOf<typeof LedgerRefusal>;

export const LEDGER_REFUSAL_CODES: readonly string[] = Object.values(LedgerRefusal);
