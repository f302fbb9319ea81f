import type { FeeLine, FeeOverrides, PriceRecord } from '../pricing/service';
import type { ResponseCode, TransferStatus } from '../../workflows/contract';

export type TransferRow = {
  id: string;
  ref_id: string;
  customer_id: string;
  created_by_key_id: string | null;
  idempotency_scope: string;
  idempotency_key: string;
  request_hash: string;
  source_account_id: string;
  destination_account_id: string;
  /** Null until priced when the client gave the other amount. */
  source_amount: string | null;
  source_currency: string;
  target_amount: string | null;
  target_currency: string;
  reference: string;
  description: string | null;
  external_id: string | null;
  metadata: Record<string, string>;
  status: TransferStatus;
  response_code: ResponseCode | null;
  message: string | null;
  workflow_id: string;
  operation_type: 'account_to_account' | 'account_to_account_fx' | 'payout';
  client_fx_rate: string | null;
  override_fees: FeeOverrides | null;
  quote_id: string | null;
  market_rate: string | null;
  fx_rate: string | null;
  rate_as_of: Date | null;
  fixed_fee: string | null;
  spread_fee: string | null;
  calculated_fees: Record<string, FeeLine> | null;
  priced_at: Date | null;
  screening_id: string | null;
  kind: 'transfer' | 'payout';
  beneficiary_id: string | null;
  rail_reference: string | null;
  sent_at: Date | null;
  settled_at: Date | null;
  settlement_transaction_id: string | null;
  reversal_transaction_id: string | null;
  held_at: Date | null;
  hold_expires_at: Date | null;
  hold_id: string | null;
  ledger_transaction_id: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
};

/** The columns that record a transfer's price (from the workflow's pricing step or a locked quote). */
export function priceColumns(p: PriceRecord) {
  return {
    operation_type: p.operation,
    source_amount: p.source_amount,
    target_amount: p.target_amount,
    market_rate: p.market_rate,
    fx_rate: p.fx_rate,
    rate_as_of: p.rate_as_of,
    fixed_fee: p.fixed_fee,
    spread_fee: p.spread_fee,
    calculated_fees: JSON.stringify(p.calculated_fees),
    priced_at: new Date(),
  };
}

