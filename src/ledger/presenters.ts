import { formatAmount, Money } from '../money/money';
import type { AccountWithCurrency, LedgerEntryRow } from './model';

/** Balances as decimal strings with the currency's minor units; available = posted - pending. */
export const presentAccount = (a: AccountWithCurrency) => ({
  id: a.id,
  customer_id: a.customer_id,
  currency: a.currency,
  kind: a.kind,
  status: a.status,
  balances: {
    posted: formatAmount(a.posted, a.minor_units),
    pending: formatAmount(a.pending, a.minor_units),
    available: formatAmount(a.available, a.minor_units),
  },
  created_at: a.created_at,
});

/** An entry as seed 000 shows it: unsigned amount with a credit/debit type, and the running balance after it. */
export const presentEntry = (e: LedgerEntryRow, minorUnits: number) => {
  const amount = new Money(e.amount);
  return {
    id: e.id,
    account_id: e.account_id,
    transaction_id: e.transaction_id,
    type: amount.isNegative() ? ('debit' as const) : ('credit' as const),
    amount: formatAmount(amount.abs(), minorUnits),
    currency: e.currency.trim(),
    balance: formatAmount(e.balance_after, minorUnits),
    description: e.description,
    created_at: e.created_at,
  };
};
