/**
 * The first version of the transfer and payout workflows, frozen: workflows it started (a hold
 * waiting for days, a payout in its return window) keep running on it, replaying their recorded
 * histories (test/fixtures/histories/v1). New transfers start transferWorkflowV2 / payoutWorkflowV2.
 * Do not change what this code does; delete it once no workflow of these types is running.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { isWellFormedDecision, outcomeOfFailure as refusalOutcome } from '../failures';
import {
  awaitTransferOutcomeUpdate,
  complianceDecisionSignal,
  railEventSignal,
  CustomerIdSearchAttribute,
  ResponseCode,
  RESPONSE_MESSAGES,
  SourceAccountIdSearchAttribute,
  transferStatusQuery,
  TransferFailureType,
  TransferStatusSearchAttribute,
  type ComplianceDecision,
  type LegacyActivities,
  type RailActivities,
  type RecordedOutcome,
  type TransferOutcome,
  type TransferStatus,
  type TransferStepActivities,
  type TransferStep,
  type TransferWorkflowInput,
} from '../contract';

/** Everything the first version calls: its own steps, and the ones it shares with the current versions. */
type FirstVersionActivities = LegacyActivities & TransferStepActivities & RailActivities;

const activities = proxyActivities<FirstVersionActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

type Compensation = { name: string; run: () => Promise<void> };

const railActivities = proxyActivities<FirstVersionActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
});

const DEFAULT_PAYOUT_TIMING = { settlementCheckSeconds: 60, returnWindowSeconds: 5 * 24 * 3600 };

/** For workflows whose input predates holdTtlSeconds. */
const DEFAULT_HOLD_TTL_SECONDS = 3 * 24 * 3600;

/** v1: validate → price → screen → reserve → [held → decision] → post, an activity each. */
export async function transferWorkflow(input: TransferWorkflowInput): Promise<TransferOutcome> {
  return moveMoney(input, 'transfer');
}

/** v1: the transfer's steps to payouts in transit, then send → settle → return window. */
export async function payoutWorkflow(input: TransferWorkflowInput): Promise<TransferOutcome> {
  return moveMoney(input, 'payout');
}

async function moveMoney(input: TransferWorkflowInput, kind: 'transfer' | 'payout'): Promise<TransferOutcome> {
  const ref = { transferId: input.transferId };
  let status: TransferStatus = 'processing';
  let step: TransferStep = 'validating';
  let outcome: TransferOutcome | null = null;

  setHandler(transferStatusQuery, () => progress());
  // A decision can arrive before the workflow waits for it (it is kept) or twice (the first counts).
  let decisionRequest: ComplianceDecision<'release' | 'reject'> | undefined;
  const progress = () => ({ transferId: input.transferId, status, step, outcome });
  setHandler(awaitTransferOutcomeUpdate, async () => {
    // Held counts as an answer only while no decision has arrived; after one, wait for the outcome.
    await condition(() => outcome !== null || (status === 'held' && decisionRequest === undefined));
    return progress();
  });
  setHandler(complianceDecisionSignal, (decision) => {
    // A malformed hand-typed signal is ignored, not kept as the first decision.
    if (!isWellFormedDecision(decision)) {
      log.warn('Ignored a malformed compliance decision', { transferId: input.transferId });
      return;
    }
    decisionRequest ??= decision;
  });
  let settled = false;
  let returnedReason: string | undefined;
  setHandler(railEventSignal, (event) => {
    if (event.event === 'settled') settled = true;
    if (event.event === 'returned') {
      settled = true; // a return implies the payout had settled
      returnedReason ??= event.reason ?? 'returned by the beneficiary bank';
    }
  });
  upsertSearchAttributes([
    { key: TransferStatusSearchAttribute, value: status },
    { key: CustomerIdSearchAttribute, value: input.customerId },
    { key: SourceAccountIdSearchAttribute, value: input.sourceAccountId },
  ]);

  const compensations: Compensation[] = [];
  let result: RecordedOutcome;
  try {
    await activities.validateTransfer(ref);
    // Workflows started before pricing existed replay without this step.
    if (patched('fx-pricing')) {
      step = 'pricing';
      await activities.priceTransfer(ref);
    }
    let screening: { outcome: 'approve' | 'hold' | 'decline'; summary: string } | undefined;
    if (patched('compliance-screening')) {
      step = 'screening';
      screening = await activities.screenTransfer(ref);
      if (screening.outcome === 'decline') {
        throw ApplicationFailure.create({ type: TransferFailureType.ComplianceDeclined, message: screening.summary, nonRetryable: true });
      }
    }
    await CancellationScope.nonCancellable(async () => {
      step = 'reserving';
      await activities.reserveFunds(ref);
      compensations.push({ name: 'releaseFunds', run: () => activities.releaseFunds(ref) });
    });
    if (screening?.outcome === 'hold') {
      // Quarantined (code 12): the funds stay reserved until a compliance officer decides, or the hold expires.
      const ttlSeconds = input.holdTtlSeconds ?? DEFAULT_HOLD_TTL_SECONDS;
      await activities.holdTransfer({ ...ref, expiresInSeconds: ttlSeconds, reason: screening.summary });
      status = 'held';
      step = 'awaiting_decision';
      upsertSearchAttributes([{ key: TransferStatusSearchAttribute, value: status }]);
      const arrived = await condition(() => decisionRequest !== undefined, `${ttlSeconds} seconds`);
      const request = arrived
        ? (decisionRequest as ComplianceDecision<'release' | 'reject'>)
        : { decision: 'expire' as const, reviewer: 'system', reason: `No decision within ${ttlSeconds} seconds: the hold expired.` };
      const decided = await activities.recordComplianceDecision({ ...ref, ...request });
      status = 'processing';
      upsertSearchAttributes([{ key: TransferStatusSearchAttribute, value: status }]);
      if (decided.decision !== 'release') {
        throw ApplicationFailure.create({
          type: TransferFailureType.ComplianceRejected,
          message: `${decided.decision === 'expire' ? 'hold expired' : `rejected by ${decided.reviewer}`}: ${decided.reason}`,
          nonRetryable: true,
        });
      }
    }
    await CancellationScope.nonCancellable(async () => {
      step = 'posting';
      await activities.postTransfer(ref);
    });
    if (kind === 'payout') {
      const payout = input.payout ?? DEFAULT_PAYOUT_TIMING;
      await CancellationScope.nonCancellable(async () => {
        // The posting consumed the hold: from here the way back is a reversal of the posting.
        compensations.length = 0;
        compensations.push({ name: 'reversePayout', run: () => activities.reversePayout(ref) });
        step = 'sending';
        try {
          await railActivities.sendPayout(ref);
        } catch (err) {
          // Retries ran out, but the rail may still have taken the payment (a slow answer, say):
          // refund only once the rail itself says it does not have it.
          const exhausted = err instanceof ActivityFailure && err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED;
          if (!settled) {
            if (!exhausted) throw err; // a rejection: compensate
            const seen = await activities.checkPayoutOnRail(ref);
            if (seen.status === 'unknown' || seen.status === 'rejected') throw err;
          }
        }
        status = 'sent';
        step = 'awaiting_settlement';
        upsertSearchAttributes([{ key: TransferStatusSearchAttribute, value: status }]);
        // The rail's callback usually arrives first; without it, ask the rail now and then
        // (patiently: once the rail has the payment, only the rail can say it failed).
        while (!settled) {
          if (await condition(() => settled, `${payout.settlementCheckSeconds} seconds`)) break;
          const seen = await activities.checkPayoutOnRail(ref);
          if (seen.status === 'settled') settled = true;
          if (seen.status === 'returned') {
            returnedReason ??= seen.reason ?? 'returned by the beneficiary bank';
            settled = true;
          }
          // The rail lost the payment (a restart): it is idempotent on the payout id, so send it again.
          if (seen.status === 'unknown') await railActivities.sendPayout({ ...ref, resend: true });
          if (seen.status === 'rejected') {
            throw ApplicationFailure.create({ type: TransferFailureType.RailRejected, message: `rejected by the payout rail: ${seen.reason ?? ''}`, nonRetryable: true });
          }
        }
        await activities.settlePayout(ref);
      });
    }
    result = { status: 'completed', responseCode: ResponseCode.Success, message: RESPONSE_MESSAGES[ResponseCode.Success] };
  } catch (err) {
    result = refusalOutcome(err);
    log.info('Transfer refused', { transferId: input.transferId, step, responseCode: result.responseCode, reason: result.message });
    step = 'compensating';
    await CancellationScope.nonCancellable(async () => {
      for (const compensation of compensations.reverse()) {
        try {
          await compensation.run();
        } catch (compensationError) {
          // The way back failed permanently: record it for people, never leave the transfer open.
          log.error('Compensation failed', { transferId: input.transferId, compensation: compensation.name, error: String(compensationError) });
          result = { status: 'failed', responseCode: ResponseCode.ContactSupport, message: `contact_support: ${compensation.name} failed; manual review needed` };
          break;
        }
      }
    });
  }

  step = 'recording';
  await CancellationScope.nonCancellable(() => activities.recordTransferOutcome({ ...ref, ...result }));
  status = result.status;
  step = 'done';
  outcome = { transferId: input.transferId, ...result };
  upsertSearchAttributes([{ key: TransferStatusSearchAttribute, value: status }]);

  if (kind === 'payout' && result.status === 'completed') {
    // A settled payout can still come back (a closed beneficiary account, say) for a while.
    const timing = input.payout ?? DEFAULT_PAYOUT_TIMING;
    step = 'return_window';
    // Wait for the rail's return callback; ask the rail at most ~50 times in case one was lost.
    const checkEvery = Math.max(timing.settlementCheckSeconds, Math.ceil(timing.returnWindowSeconds / 50));
    let remaining = timing.returnWindowSeconds;
    while (returnedReason === undefined && remaining > 0) {
      const wait = Math.min(checkEvery, remaining);
      remaining -= wait;
      if (await CancellationScope.nonCancellable(() => condition(() => returnedReason !== undefined, `${wait} seconds`))) break;
      if (remaining > 0) {
        const seen = await CancellationScope.nonCancellable(() => activities.checkPayoutOnRail(ref));
        if (seen.status === 'returned') returnedReason = seen.reason ?? 'returned by the beneficiary bank';
      }
    }
    if (returnedReason !== undefined) {
      step = 'reversing';
      const reason = returnedReason as string;
      await CancellationScope.nonCancellable(async () => {
        await activities.reversePayout(ref);
        await activities.recordPayoutReturned({ ...ref, reason });
      });
      status = 'returned';
      outcome = { transferId: input.transferId, status: 'returned', responseCode: ResponseCode.ContactSupport, message: `contact_support: returned by the beneficiary's bank: ${reason}` };
      upsertSearchAttributes([{ key: TransferStatusSearchAttribute, value: status }]);
    }
    step = 'done';
  }

  // Let a waiting awaitTransferOutcome update return before the workflow closes.
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return outcome;
}
