/** Rows as stored. NUMERIC columns arrive as strings (see src/db/knex.ts). */
export type AccountRow = {
  id: string;
  customer_id: string | null;
  currency: string;
  kind: 'customer' | 'system';
  system_purpose: string | null;
  status: 'active' | 'frozen' | 'closed';
  posted: string;
  pending: string;
  available: string;
  allow_negative: boolean;
  created_at: Date;
  updated_at: Date;
};

export type AccountWithCurrency = AccountRow & { minor_units: number };

/**
 * A reservation: an amount set aside from an account's available balance (its `pending`) until it
 * is posted or released. Stored in the `holds` table (and referenced as `hold_id`), names kept as recorded.
 */
export type ReservationRow = {
  id: string;
  idempotency_key: string;
  account_id: string;
  currency: string;
  amount: string;
  status: 'pending' | 'posted' | 'voided';
  transfer_id: string | null;
  created_at: Date;
  resolved_at: Date | null;
};

export type LedgerTransactionRow = {
  id: string;
  idempotency_key: string;
  kind: 'deposit' | 'transfer' | 'payout' | 'payout_settlement' | 'payout_reversal';
  transfer_id: string | null;
  reference: string | null;
  description: string | null;
  request_hash: string | null;
  created_at: Date;
};

export type LedgerEntryRow = {
  id: string;
  seq: string;
  transaction_id: string;
  account_id: string;
  currency: string;
  amount: string;
  balance_after: string;
  description: string | null;
  created_at: Date;
};

export type PostedTransaction = LedgerTransactionRow & { entries: LedgerEntryRow[] };
