import type { Db } from '../db/knex';
import type { Principal } from '../auth/service';
import type { CurrencyService } from '../currencies/service';
import type { LedgerEntryRow } from '../ledger/model';
import { presentEntry } from '../ledger/presenters';
import { formatAmount, Money } from '../money/money';
import type { TransferRow } from './model';

/**
 * Transfers as the API shows them, with the entries they posted (seed 000's source_entry /
 * destination_entry). An entry carries its account's running balance, so a client key sees only
 * the entries on its own customer's accounts; the counterparty's entry is null.
 * Pages are presented with one query for all their entries and one for the account owners.
 */
export function createTransferPresenter(deps: { db: Db; currencies: CurrencyService }) {
  const { db, currencies } = deps;

  async function presentMany(transfers: TransferRow[], viewer: Principal) {
    const txIds = transfers.map((t) => t.ledger_transaction_id).filter((id): id is string => id !== null);
    const entries: LedgerEntryRow[] = txIds.length ? await db('ledger_entries').whereIn('transaction_id', txIds).orderBy('seq') : [];
    const accountIds = [...new Set(transfers.flatMap((t) => [t.source_account_id, t.destination_account_id]))];
    const owners = new Map<string, string | null>(
      viewer.role === 'client' && accountIds.length
        ? ((await db('accounts').whereIn('id', accountIds).select('id', 'customer_id')) as Array<{ id: string; customer_id: string | null }>).map(
            (a) => [a.id, a.customer_id],
          )
        : [],
    );
    const mayShow = (accountId: string) => viewer.role !== 'client' || owners.get(accountId) === viewer.customerId;

    return Promise.all(
      transfers.map(async (t) => {
        const [sourceUnits, targetUnits] = await Promise.all([currencies.minorUnits(t.source_currency), currencies.minorUnits(t.target_currency)]);
        const entryOn = (accountId: string, units: number) => {
          const entry = entries.find((e) => e.transaction_id === t.ledger_transaction_id && e.account_id === accountId);
          return entry && mayShow(accountId) ? presentEntry(entry, units) : null;
        };
        return {
          id: t.id,
          kind: t.kind,
          ref_id: t.ref_id,
          status: t.status,
          response_code: t.response_code,
          message: t.message,
          source_account_id: t.source_account_id,
          destination_account_id: t.destination_account_id,
          operation_type: t.operation_type,
          // Null until the workflow has priced the side the client did not give.
          source_amount: { amount: t.source_amount === null ? null : formatAmount(t.source_amount, sourceUnits), currency: t.source_currency.trim() },
          target_amount: { amount: t.target_amount === null ? null : formatAmount(t.target_amount, targetUnits), currency: t.target_currency.trim() },
          fx_rate: t.fx_rate === null ? null : new Money(t.fx_rate).toString(),
          market_rate: t.market_rate === null ? null : new Money(t.market_rate).toString(),
          calculated_fees: t.calculated_fees,
          quote_id: t.quote_id,
          reference: t.reference,
          description: t.description,
          external_id: t.external_id,
          metadata: t.metadata,
          source_entry: entryOn(t.source_account_id, sourceUnits),
          destination_entry: entryOn(t.destination_account_id, targetUnits),
          ...(t.kind === 'payout'
            ? { beneficiary_id: t.beneficiary_id, rail_reference: t.rail_reference, sent_at: t.sent_at, settled_at: t.settled_at }
            : {}),
          workflow_id: t.workflow_id,
          created_at: t.created_at,
          completed_at: t.completed_at,
        };
      }),
    );
  }

  async function present(transfer: TransferRow, viewer: Principal) {
    const [shown] = await presentMany([transfer], viewer);
    return shown as NonNullable<typeof shown>;
  }

  return { present, presentMany };
}

export type TransferPresenter = ReturnType<typeof createTransferPresenter>;
