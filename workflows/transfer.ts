import type { TransferOutcome, TransferWorkflowInput } from './definitions';
import { trackProgress } from './progress';
import { close, database, prepareAndPost } from './steps';

/**
 * A transfer between two ledger accounts, in one or two database steps:
 * prepare (validate → price → screen → reserve, one commit) → [held → compliance decision] →
 * complete (post the balanced entries and record `completed`, one commit). A refusal at any step
 * is recorded with its response code and the reservation released. Cancelling (UI or CLI) is
 * honoured until the posting.
 */
export async function transferWorkflowV2(input: TransferWorkflowInput): Promise<TransferOutcome> {
  const progress = trackProgress(input.transferId);
  const outcome = await prepareAndPost(progress, input, () => database.completeTransfer({ transferId: input.transferId }));
  if (!outcome) throw new Error('a transfer is complete once posted');
  return close(progress.finish(outcome));
}
