/**
 * The activities of the first workflow versions (transferWorkflow and payoutWorkflow, in
 * workflows/legacy/), kept under their names and with their results while workflows started by
 * them drain: a hold waits for days, a payout stays open through its return window. New transfers
 * run transferWorkflowV2 / payoutWorkflowV2 and never call these. Each is one step of the old
 * sequence, over the same services the new steps use. Delete this file once
 * `WorkflowType IN ("transferWorkflow", "payoutWorkflow") AND ExecutionStatus = "Running"` is empty.
 */
import type { HoldService } from '../src/compliance/holds';
import type { ComplianceService } from '../src/compliance/service';
import type { Db } from '../src/db/knex';
import type { LedgerService } from '../src/ledger/service';
import type { TransferRow } from '../src/transfers/model';
import type { TransferRepository } from '../src/transfers/repository';
import { checkMovement, loadParties } from '../src/transfers/validation';
import type { LegacyActivities, PriceSummary, TransferRef } from '../workflows/contract';
import { ledgerKey, type MovementSteps } from './movements';
import { returnedMessage, type PayoutSteps } from './payout-steps';
import { withFailureMapping } from './refusals';

export type LegacyActivityDeps = {
  db: Db;
  ledger: LedgerService;
  transfers: TransferRepository;
  compliance: ComplianceService;
  movements: MovementSteps;
  holds: HoldService;
  payouts: PayoutSteps;
};

export function createLegacyActivities(deps: LegacyActivityDeps): LegacyActivities {
  const { db, ledger, transfers, compliance, movements, payouts } = deps;

  return withFailureMapping<LegacyActivities>({
    async validateTransfer({ transferId }: TransferRef): Promise<void> {
      const t = await transfers.mustGet(transferId);
      const refusal = checkMovement(t, await loadParties(db, t));
      if (refusal) throw refusal;
    },

    async priceTransfer({ transferId }: TransferRef): Promise<PriceSummary> {
      const t = await transfers.mustGet(transferId);
      if (t.priced_at) return summarize(t);
      const priced = await movements.priceOf(t);
      if ('refusal' in priced) throw priced.refusal;
      return summarize(await transfers.recordPrice(transferId, priced.price));
    },

    async screenTransfer({ transferId }: TransferRef): Promise<{ outcome: 'approve' | 'hold' | 'decline'; screeningId: string; summary: string }> {
      const t = await transfers.mustGet(transferId);
      const screening = await compliance.screenTransfer(t, await loadParties(db, t));
      if (t.screening_id !== screening.id) await db('transfers').where({ id: transferId }).update({ screening_id: screening.id });
      return { outcome: screening.outcome, screeningId: screening.id, summary: compliance.summarize(screening) };
    },

    async reserveFunds({ transferId }: TransferRef): Promise<{ holdId: string }> {
      const t = await transfers.mustGet(transferId);
      if (!t.priced_at || t.source_amount === null) throw new Error(`Transfer ${transferId} is not priced yet`);
      const reservation = await ledger.reserve({ idempotencyKey: ledgerKey(transferId, 'reserve'), accountId: t.source_account_id, currency: t.source_currency, amount: t.source_amount, transferId });
      await transfers.linkReservation(transferId, reservation.id);
      return { holdId: reservation.id };
    },

    async holdTransfer(input: TransferRef & { expiresInSeconds: number; reason: string }): Promise<void> {
      await transfers.hold(input.transferId, { expiresInSeconds: input.expiresInSeconds, reason: input.reason });
    },

    async recordComplianceDecision(input: TransferRef & { decision: 'release' | 'reject' | 'expire'; reviewer: string; reason: string; reviewerKeyId?: string | null }) {
      const { transferId, ...request } = input;
      const first = await deps.holds.recordDecision(transferId, request);
      if (first.decision === 'release') await transfers.resume(transferId);
      return { decision: first.decision, reviewer: first.reviewer, reason: first.reason };
    },

    async postTransfer({ transferId }: TransferRef): Promise<{ ledgerTransactionId: string }> {
      const posted = await ledger.postTransaction(await movements.postingOf(await transfers.mustGet(transferId)));
      await transfers.linkLedgerTransaction(transferId, posted.id);
      return { ledgerTransactionId: posted.id };
    },

    async releaseFunds({ transferId }: TransferRef): Promise<void> {
      const t = await transfers.mustGet(transferId);
      if (t.hold_id) await ledger.releaseReservation(t.hold_id);
    },

    async settlePayout({ transferId }: TransferRef): Promise<void> {
      await payouts.settle(transferId, { complete: false });
    },

    async reversePayout({ transferId }: TransferRef): Promise<void> {
      await payouts.reverse(await transfers.mustGet(transferId));
    },

    async recordPayoutReturned(input: TransferRef & { reason: string }): Promise<void> {
      await transfers.markReturned(input.transferId, returnedMessage(input.reason));
    },
  });
}

/** What the first workflow version kept of the price. */
function summarize(t: TransferRow): PriceSummary {
  return {
    sourceAmount: t.source_amount as string,
    targetAmount: t.target_amount as string,
    fxRate: t.fx_rate as string,
    marketRate: t.market_rate as string,
    fixedFee: t.fixed_fee as string,
    spreadFee: t.spread_fee as string,
  };
}
