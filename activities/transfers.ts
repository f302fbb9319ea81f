import type { TransferRepository } from '../src/transfers/repository';
import type { TransferStepActivities } from '../workflows/contract';
import type { MovementSteps } from './movements';
import { withFailureMapping } from './refusals';

/**
 * The database steps of a transfer (transferWorkflowV2, and payoutWorkflowV2 up to the posting),
 * run as local activities: each is one Postgres commit and safe to repeat.
 */
export function createTransferActivities(deps: { movements: MovementSteps; transfers: TransferRepository }): TransferStepActivities {
  const { movements } = deps;
  return withFailureMapping<TransferStepActivities>({
    async prepareTransfer(input) {
      return movements.prepare(input.transferId, input.holdTtlSeconds);
    },
    async completeTransfer({ transferId }) {
      return (await movements.post(transferId, { complete: true })) as NonNullable<Awaited<ReturnType<MovementSteps['post']>>>;
    },
    async refuseTransfer(input) {
      return movements.refuse(input.transferId, input.outcome);
    },
    async recordTransferOutcome(input) {
      const { transferId, ...outcome } = input;
      await deps.transfers.recordOutcome(transferId, outcome);
    },
  });
}
