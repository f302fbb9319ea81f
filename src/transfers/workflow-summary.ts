import type { CurrencyService } from '../currencies/service';
import type { Db } from '../db/knex';
import { displayAmount } from '../money/money';
import type { TransferRow } from './model';
import { loadParties } from './validation';

/** Temporal keeps a workflow's summary short (it is one line in the UI's list). */
const MAX_SUMMARY_CHARS = 200;

export type SummaryParties = { source: string | undefined; destination: string | undefined };

/**
 * The one-line summary a transfer's or payout's workflow carries in the Temporal UI (its "static
 * summary"): what it moves, in the currency's minor units, and between whom. What it waits for is
 * the workflow's own "current details" (workflows/progress.ts).
 */
export function workflowSummary(t: TransferRow, parties: SummaryParties, units: { source: number; target: number }): string {
  const source = t.source_amount ? displayAmount(t.source_amount, units.source, t.source_currency) : undefined;
  const target = t.target_amount ? displayAmount(t.target_amount, units.target, t.target_currency) : undefined;
  const fx = t.source_currency.trim() !== t.target_currency.trim();
  const amount = !fx ? (source ?? target) : source && target ? `${source} → ${target}` : source ? `${source} → ${t.target_currency.trim()}` : `${t.source_currency.trim()} → ${target}`;
  const from = parties.source ? `${parties.source} (account ${t.source_account_id})` : `account ${t.source_account_id}`;
  const to = parties.destination ?? (t.kind === 'payout' ? `beneficiary ${t.beneficiary_id}` : `account ${t.destination_account_id}`);
  const text = `${t.kind === 'payout' ? 'Payout' : 'Transfer'} ${amount} from ${from} to ${to}`;
  return text.length > MAX_SUMMARY_CHARS ? `${text.slice(0, MAX_SUMMARY_CHARS - 1)}…` : text;
}

/** The parties' names (the holders; a payout's beneficiary), as validation reads them, and the currencies' minor units. */
export function createWorkflowSummaries(deps: { db: Db; currencies: CurrencyService }) {
  return async function summarize(t: TransferRow): Promise<string> {
    const [parties, sourceUnits, targetUnits] = await Promise.all([
      loadParties(deps.db, t),
      deps.currencies.minorUnits(t.source_currency),
      deps.currencies.minorUnits(t.target_currency),
    ]);
    const names = { source: parties.source?.holder_name ?? undefined, destination: parties.beneficiary?.name ?? parties.destination?.holder_name ?? undefined };
    return workflowSummary(t, names, { source: sourceUnits, target: targetUnits });
  };
}
