import { ActivityFailure, CancellationScope, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { knownFailureOutcome, railEventSignal, TransferFailureType, type PayoutTiming, type RailActivities, type RecordedOutcome, type TransferOutcome, type TransferWorkflowInput } from './contract';
import { outcomeOfFailure } from './failures';
import { trackProgress, type Progress } from './progress';
import { close, localSteps, orContactSupport, prepareAndPost } from './steps';

/** The rail is another service: remote activities, retried patiently but not for ever, then compensated. */
const rail = proxyActivities<RailActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
});
/** Asking the rail where a payout is: retried for as long as it takes (only the rail can say). */
const railStatus = proxyActivities<RailActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

const DEFAULT_PAYOUT_TIMING: PayoutTiming = { settlementCheckSeconds: 60, returnWindowSeconds: 5 * 24 * 3600 };
type Timing = PayoutTiming;
type RailState = { settled: boolean; returnedReason?: string };
const RETURNED = 'returned by the beneficiary bank';

/**
 * A payout to a beneficiary (pay_out): prepared and posted like a transfer, to the payouts in
 * transit account → sent through the payout rail → settled on its confirmation (recorded
 * `completed`) → open for late returns through the return window. A rail rejection, or a return
 * after settlement, is refunded by reversals, newest first; the payout ends `failed` or `returned`.
 */
export async function payoutWorkflowV2(input: TransferWorkflowInput): Promise<TransferOutcome> {
  const progress = trackProgress(input.transferId);
  const seen: RailState = { settled: false };
  setHandler(railEventSignal, (event) => {
    if (event.event === 'settled') seen.settled = true;
    if (event.event === 'returned') {
      seen.settled = true; // a return implies the payout had settled
      seen.returnedReason ??= event.reason ?? RETURNED;
    }
  });
  const ref = { transferId: input.transferId };
  const timing = input.payout ?? DEFAULT_PAYOUT_TIMING;

  const ended = await prepareAndPost(progress, input, async () => {
    await localSteps.postPayout(ref);
    return null;
  });
  if (ended) return close(progress.finish(ended));
  // From the posting on, the way back is a reversal, and it always runs to its end.
  let outcome = progress.finish(await CancellationScope.nonCancellable(() => sendAndSettle(progress, seen, ref, timing)));
  if (outcome.status === 'completed') {
    const returned = await CancellationScope.nonCancellable(() => watchForReturns(progress, seen, ref, timing));
    if (returned) outcome = progress.finish(returned);
    progress.at('done');
  }
  return close(outcome);
}

/** Retries ran out (rather than the rail refusing): the rail may still have the payment. */
const exhausted = (err: unknown) => err instanceof ActivityFailure && err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED;

/** A settled or refunded payout's last step must not fail for good: if it does, people review it. */
const finalStep = (ref: { transferId: string }, what: string, step: () => Promise<RecordedOutcome>) => orContactSupport(ref.transferId, what, step, (stuck) => stuck);

/** Sends the payout and waits for the rail to settle it; a rejection is refunded. */
async function sendAndSettle(progress: Progress, seen: RailState, ref: { transferId: string }, timing: Timing): Promise<RecordedOutcome> {
  const refund = (outcome: RecordedOutcome) => finalStep(ref, 'the payout could not be refunded', () => localSteps.refundPayout({ ...ref, outcome }));
  progress.at('sending');
  try {
    await rail.sendPayout(ref);
  } catch (err) {
    // Retries ran out, but the rail may still have taken the payment (a slow answer, say):
    // refund only once the rail itself says it does not have it.
    if (!seen.settled) {
      if (!exhausted(err)) return refund(outcomeOfFailure(err));
      const status = await railStatus.checkPayoutOnRail(ref);
      if (status.status === 'unknown' || status.status === 'rejected') return refund(outcomeOfFailure(err));
    }
  }
  progress.setStatus('sent');
  progress.at('awaiting_settlement');
  // The rail's callback usually arrives first; without it, ask the rail now and then.
  while (!seen.settled) {
    if (await condition(() => seen.settled, `${timing.settlementCheckSeconds} seconds`)) break;
    const status = await railStatus.checkPayoutOnRail(ref);
    if (status.status === 'settled') seen.settled = true;
    if (status.status === 'returned') {
      seen.returnedReason ??= status.reason ?? RETURNED;
      seen.settled = true;
    }
    // The rail lost the payment (a restart): it is idempotent on the payout id, so send it again.
    // Refused, it is refunded; retries that ran out leave it to the next check.
    if (status.status === 'unknown') {
      try {
        await rail.sendPayout({ ...ref, resend: true });
      } catch (err) {
        if (!exhausted(err)) return refund(outcomeOfFailure(err));
      }
    }
    if (status.status === 'rejected') return refund(knownFailureOutcome(TransferFailureType.RailRejected, `rejected by the payout rail: ${status.reason ?? ''}`));
  }
  return finalStep(ref, 'the settled payout could not be recorded', () => localSteps.completePayout(ref));
}

/**
 * A settled payout can still come back (a closed beneficiary account, say) for a while: wait for
 * the rail's return callback, asking the rail at most ~50 times over the window in case one was
 * lost. Returns the outcome of a return (reversed: `returned`, 606), or null when the window closes.
 */
async function watchForReturns(progress: Progress, seen: RailState, ref: { transferId: string }, timing: Timing): Promise<RecordedOutcome | null> {
  progress.at('return_window');
  const checkEvery = Math.max(timing.settlementCheckSeconds, Math.ceil(timing.returnWindowSeconds / 50));
  let remaining = timing.returnWindowSeconds;
  while (seen.returnedReason === undefined && remaining > 0) {
    const wait = Math.min(checkEvery, remaining);
    remaining -= wait;
    if (await condition(() => seen.returnedReason !== undefined, `${wait} seconds`)) break;
    if (remaining > 0) {
      const status = await railStatus.checkPayoutOnRail(ref);
      if (status.status === 'returned') seen.returnedReason = status.reason ?? RETURNED;
    }
  }
  if (seen.returnedReason === undefined) return null;
  progress.at('reversing');
  const reason = seen.returnedReason;
  return finalStep(ref, 'the returned payout could not be reversed', () => localSteps.refundPayout({ ...ref, returned: reason }));
}
