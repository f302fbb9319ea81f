import type { Db } from '../db/knex';
import { formatAmount, Money } from '../money/money';

export type TrialBalanceLine = { account_id: string; kind: string; system_purpose: string | null; customer_id: string | null; balance: string };
export type TrialBalance = { currency: string; debits: string; credits: string; net: string; accounts: TrialBalanceLine[] };

/**
 * Per currency: total debits, total credits and their net (zero in a balanced ledger), with every
 * account's balance, from one consistent snapshot of the entries.
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
      const accounts = (await trx('ledger_entries')
        .join('accounts', 'accounts.id', 'ledger_entries.account_id')
        .groupBy('accounts.id')
        .orderBy(['accounts.kind', 'accounts.system_purpose', 'accounts.id'])
        .select('accounts.id', 'accounts.currency', 'accounts.kind', 'accounts.system_purpose', 'accounts.customer_id', trx.raw('sum(amount)::text AS balance'))) as Array<{
        id: string;
        currency: string;
        kind: string;
        system_purpose: string | null;
        customer_id: string | null;
        balance: string;
      }>;
      return totals.map((t) => ({
        currency: t.currency.trim(),
        debits: formatAmount(t.debits, t.minor_units),
        credits: formatAmount(t.credits, t.minor_units),
        net: formatAmount(new Money(t.credits).minus(t.debits), t.minor_units),
        accounts: accounts
          .filter((a) => a.currency === t.currency)
          .map((a) => ({ account_id: a.id, kind: a.kind, system_purpose: a.system_purpose, customer_id: a.customer_id, balance: formatAmount(a.balance, t.minor_units) })),
      }));
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}
