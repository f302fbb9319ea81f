import type { MovementService, Preparation, Refused } from '../src/transfers/movements';
import type { RecordedOutcome } from '../src/transfers/outcomes';
import type { TransferRepository } from '../src/transfers/repository';
import { withFailureMapping } from './failures';

export type TransferRef = { transferId: string };

/**
 * The database steps of a transfer (transferWorkflowV2, and payoutWorkflowV2 up to the posting),
 * run as local activities: each is one Postgres commit and safe to repeat.
 */
export function createTransferActivities(deps: { movements: MovementService; transfers: TransferRepository }) {
  const { movements } = deps;
  return withFailureMapping({
    /** Validate → price → screen → reserve, decided in one commit: post it, hold it, or it is refused. */
    async prepareTransfer(input: TransferRef & { holdTtlSeconds: number }): Promise<Preparation> {
      return movements.prepare(input.transferId, input.holdTtlSeconds);
    },

    /** Posts the transfer, consuming its reservation, and records it completed: one commit. */
    async completeTransfer({ transferId }: TransferRef): Promise<RecordedOutcome> {
      return (await movements.post(transferId, { complete: true })) as RecordedOutcome;
    },

    /**
     * Gives the reservation back (if any) and records why the transfer ends unposted: one commit.
     * Returns the recorded outcome, or `posted` when it turns out to be posted already.
     */
    async refuseTransfer(input: TransferRef & { outcome: RecordedOutcome }): Promise<Refused> {
      return movements.refuse(input.transferId, input.outcome);
    },

    /** Records an outcome, once (the last resort when a step cannot be undone: contact_support). */
    async recordTransferOutcome(input: TransferRef & RecordedOutcome): Promise<void> {
      const { transferId, ...outcome } = input;
      await deps.transfers.recordOutcome(transferId, outcome);
    },
  });
}

export type TransferStepActivities = ReturnType<typeof createTransferActivities>;
