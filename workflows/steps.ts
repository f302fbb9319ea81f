/**
 * The steps transfers and payouts share: prepare → [held → compliance decision] → post, with a
 * refusal recorded (and the reservation released) when any of them says no.
 */
import { allHandlersFinished, CancellationScope, CancelledFailure, condition, log, proxyLocalActivities } from '@temporalio/workflow';
import { contactSupport, type ComplianceActivities, type PayoutLedgerActivities, type RecordedOutcome, type TransferOutcome, type TransferStepActivities, type TransferWorkflowInput } from './contract';
import { outcomeOfFailure } from './failures';
import type { Progress } from './progress';

/**
 * The database steps: short Postgres transactions, run as local activities inside the workflow
 * task, so a transfer costs the engine one round trip (Temporal's early-return pattern). Each is
 * safe to repeat. Business refusals come back as results or non-retryable failures; anything else
 * (the database down) is retried with backoff until it succeeds: money must end in a known state.
 * A worker that dies mid-step loses its workflow task, and the next worker runs the step again.
 */
export const localSteps = proxyLocalActivities<TransferStepActivities & ComplianceActivities & PayoutLedgerActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/** For workflows started without holdTtlSeconds. */
const DEFAULT_HOLD_TTL_SECONDS = 3 * 24 * 3600;

/**
 * Prepares the movement (validate, price, screen and post, in one commit) and, when it is held for
 * compliance, waits for the decision and posts the released reservation with `post`. Returns the
 * outcome when the movement ended here (refused, or a transfer completed); null when a payout is
 * posted and goes on to the rail. Cancelling the workflow (UI or CLI) is honoured until the
 * posting: the reservation is released and it ends failed with 606.
 */
export async function prepareAndPost(progress: Progress, input: TransferWorkflowInput, post: () => Promise<RecordedOutcome | null>): Promise<RecordedOutcome | null> {
  const transferId = input.transferId;
  try {
    progress.at('preparing');
    const prepared = await localSteps.prepareTransfer({ transferId, holdTtlSeconds: input.holdTtlSeconds ?? DEFAULT_HOLD_TTL_SECONDS });
    if (prepared.next === 'done') return prepared.outcome;
    if (prepared.next === 'posted') return null;
    if (prepared.next === 'await_decision') {
      const refused = await awaitComplianceDecision(progress, input);
      if (refused) return refused;
    }
    // A cancellation that arrived during the decision's step is honoured now, before the posting.
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled before posting');
    progress.at('posting');
    return await CancellationScope.nonCancellable(post);
  } catch (err) {
    progress.at('compensating');
    const refused = await refuse(transferId, outcomeOfFailure(err));
    // A step the workflow stopped waiting for (cancelled) may still have posted the movement: a
    // payout in transit goes on to the rail, where only a reversal can undo it.
    return 'posted' in refused ? null : refused.outcome;
  }
}

/**
 * Held (response code 12, quarantined): the funds stay reserved until a compliance officer decides
 * (the complianceDecision signal) or the hold expires. Returns the outcome of a rejection or an
 * expiry (funds released, declined 651); null when released.
 */
async function awaitComplianceDecision(progress: Progress, input: TransferWorkflowInput): Promise<RecordedOutcome | null> {
  const ttlSeconds = input.holdTtlSeconds ?? DEFAULT_HOLD_TTL_SECONDS;
  progress.setStatus('held');
  progress.at('awaiting_decision');
  const arrived = await condition(() => progress.decision() !== undefined, `${ttlSeconds} seconds`);
  const request = progress.decision() ?? { decision: 'expire' as const, reviewer: 'system', reason: `No decision within ${ttlSeconds} seconds: the hold expired.` };
  if (!arrived) log.info('Hold expired', { transferId: input.transferId });
  const decided = await CancellationScope.nonCancellable(() => localSteps.applyComplianceDecision({ transferId: input.transferId, ...request }));
  if (!decided.outcome) progress.setStatus('processing');
  return decided.outcome;
}

/** Ends a movement unposted: the reservation released and the outcome recorded, whatever is cancelled. */
async function refuse(transferId: string, outcome: RecordedOutcome): Promise<{ outcome: RecordedOutcome } | { posted: true }> {
  log.info('Transfer refused', { transferId, responseCode: outcome.responseCode, reason: outcome.message });
  return CancellationScope.nonCancellable(() =>
    orContactSupport(transferId, 'the reservation could not be released', () => localSteps.refuseTransfer({ transferId, outcome }), (stuck) => ({ outcome: stuck })),
  );
}

/**
 * Runs a step that must not fail for good; if it does (a non-retryable failure: a bug, or data
 * that contradicts the ledger), the transfer is recorded failed with 606 for people to review,
 * never left open.
 */
export async function orContactSupport<T>(transferId: string, what: string, step: () => Promise<T>, asResult: (stuck: RecordedOutcome) => T): Promise<T> {
  try {
    return await step();
  } catch (err) {
    log.error(`${what}: manual review needed`, { transferId, error: String(err) });
    const stuck = contactSupport(`${what}; manual review needed`);
    await localSteps.recordTransferOutcome({ transferId, ...stuck });
    return asResult(stuck);
  }
}

/** Lets a waiting awaitTransferOutcome update return before the workflow closes with its outcome. */
export async function close(outcome: TransferOutcome): Promise<TransferOutcome> {
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return outcome;
}
