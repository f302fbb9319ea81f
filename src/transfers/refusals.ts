import type { CodeOf } from '../refusal';

/**
 * What transfers and payouts refuse. The first six decline a movement when its workflow validates
 * it (the general considerations before money moves); the others refuse a request to create one.
 */
export const TransferRefusal = {
  SameAccount: 'same_account',
  AccountNotFound: 'account_not_found',
  AccountNotActive: 'account_not_active',
  HolderNotActive: 'holder_not_active',
  CurrencyMismatch: 'currency_mismatch',
  BeneficiaryNotActive: 'beneficiary_not_active',
  /** A payout's beneficiary that is not the source account holder's. */
  BeneficiaryNotFound: 'beneficiary_not_found',
  /** The same Idempotency-Key with another request body. */
  IdempotencyKeyReused: 'idempotency_key_reused',
  /** external_id is unique among a customer's transfers. */
  ExternalIdAlreadyUsed: 'external_id_already_used',
} as const;
export type TransferRefusalCode = CodeOf<typeof TransferRefusal>;
