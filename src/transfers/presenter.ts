import type { Db } from '../db/knex';
import type { CurrencyService } from '../currencies/service';
import type { LedgerEntryRow } from '../ledger/model';
import { presentEntry } from '../ledger/presenters';
import { formatAmount } from '../money/money';
import type { TransferRow } from './model';

/** The transfer as the API shows it, with the entries it posted (seed 000's source_entry / destination_entry). */
export function createTransferPresenter(deps: { db: Db; currencies: CurrencyService }) {
  return async function present(t: TransferRow) {
    const [sourceUnits, targetUnits] = await Promise.all([
      deps.currencies.minorUnits(t.source_currency),
      deps.currencies.minorUnits(t.target_currency),
    ]);
    const entries: LedgerEntryRow[] = t.ledger_transaction_id
      ? await deps.db('ledger_entries').where({ transaction_id: t.ledger_transaction_id }).orderBy('seq')
      : [];
    const sourceEntry = entries.find((e) => e.account_id === t.source_account_id);
    const destinationEntry = entries.find((e) => e.account_id === t.destination_account_id);
    return {
      id: t.id,
      ref_id: t.ref_id,
      status: t.status,
      response_code: t.response_code,
      message: t.message,
      source_account_id: t.source_account_id,
      destination_account_id: t.destination_account_id,
      source_amount: { amount: formatAmount(t.source_amount, sourceUnits), currency: t.source_currency.trim() },
      target_amount: { amount: formatAmount(t.target_amount, targetUnits), currency: t.target_currency.trim() },
      reference: t.reference,
      description: t.description,
      external_id: t.external_id,
      metadata: t.metadata,
      source_entry: sourceEntry ? presentEntry(sourceEntry, sourceUnits) : null,
      destination_entry: destinationEntry ? presentEntry(destinationEntry, targetUnits) : null,
      workflow_id: t.workflow_id,
      created_at: t.created_at,
      completed_at: t.completed_at,
    };
  };
}
