import type { TransferOutcome, TransferWorkflowInput } from './contract';
import { trackProgress } from './progress';
import { close, localSteps, prepareAndPost } from './steps';

/**
 * A transfer between two ledger accounts, in one database step when nothing holds it: prepare
 * (validate → price → screen → post the balanced entries and record `completed`, one commit).
 * Held for compliance, its funds are reserved instead → [compliance decision] → complete (post the
 * reservation and record `completed`, one commit). A refusal at any step is recorded with its
 * response code and any reservation released. Cancelling (UI or CLI) is honoured until the posting.
 */
export async function transferWorkflowV2(input: TransferWorkflowInput): Promise<TransferOutcome> {
  const progress = trackProgress(input.transferId);
  const outcome = await prepareAndPost(progress, input, () => localSteps.completeTransfer({ transferId: input.transferId }));
  if (!outcome) throw new Error('a transfer is complete once posted');
  return close(progress.finish(outcome));
}
