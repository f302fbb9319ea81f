import type { Db } from '../db/knex';
import { formatAmount, Money } from '../money/money';

export type TrialBalanceLine = { account_id: string; system_purpose: string; balance: string };
export type TrialBalance = {
  currency: string;
  debits: string;
  credits: string;
  net: string;
  /** What the bank owes its customers in this currency: the sum of all customer accounts. */
  customer_accounts: string;
  system_accounts: TrialBalanceLine[];
};

/**
 * Per currency: total debits, total credits and their net (zero in a balanced ledger), each system
 * account's balance and the customer accounts' total, from one consistent snapshot of the entries.
 */
export async function trialBalance(db: Db): Promise<TrialBalance[]> {
  return db.transaction(
    async (trx) => {
      const totals = (await trx('ledger_entries')
        .join('currencies', 'currencies.code', 'ledger_entries.currency')
        .groupBy('ledger_entries.currency', 'currencies.minor_units')
        .orderBy('ledger_entries.currency')
        .select(
          'ledger_entries.currency',
          'currencies.minor_units',
          trx.raw('coalesce(sum(-amount) FILTER (WHERE amount < 0), 0)::text AS debits'),
          trx.raw('coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::text AS credits'),
        )) as Array<{ currency: string; minor_units: number; debits: string; credits: string }>;
      const system = (await trx('ledger_entries')
        .join('accounts', 'accounts.id', 'ledger_entries.account_id')
        .where('accounts.kind', 'system')
        .groupBy('accounts.id')
        .orderBy(['accounts.currency', 'accounts.system_purpose'])
        .select('accounts.id', 'accounts.currency', 'accounts.system_purpose', trx.raw('sum(amount)::text AS balance'))) as Array<{
        id: string;
        currency: string;
        system_purpose: string;
        balance: string;
      }>;
      const customers = (await trx('ledger_entries')
        .join('accounts', 'accounts.id', 'ledger_entries.account_id')
        .where('accounts.kind', 'customer')
        .groupBy('accounts.currency')
        .select('accounts.currency', trx.raw('sum(amount)::text AS balance'))) as Array<{ currency: string; balance: string }>;
      return totals.map((t) => ({
        currency: t.currency.trim(),
        debits: formatAmount(t.debits, t.minor_units),
        credits: formatAmount(t.credits, t.minor_units),
        net: formatAmount(new Money(t.credits).minus(t.debits), t.minor_units),
        customer_accounts: formatAmount(customers.find((c) => c.currency === t.currency)?.balance ?? '0', t.minor_units),
        system_accounts: system
          .filter((a) => a.currency === t.currency)
          .map((a) => ({ account_id: a.id, system_purpose: a.system_purpose, balance: formatAmount(a.balance, t.minor_units) })),
      }));
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}
