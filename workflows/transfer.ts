import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import type { TransferActivities } from '../activities';
import {
  FAILURE_RESPONSE_CODES,
  isTransferFailureType,
  RESPONSE_MESSAGES,
  ResponseCode,
  TransferFailureType,
  type TransferStatus,
} from '../src/transfers/outcomes';
import {
  awaitTransferOutcomeUpdate,
  complianceDecisionSignal,
  railEventSignal,
  CustomerIdSearchAttribute,
  type ComplianceDecisionSignal,
  SourceAccountIdSearchAttribute,
  transferStatusQuery,
  TransferStatusSearchAttribute,
  type TransferOutcome,
  type TransferStep,
  type TransferWorkflowInput,
} from './transfer-definitions';

// Business refusals are non-retryable ApplicationFailures; everything else (database down,
// worker crash) is retried with backoff until it succeeds: the money must end in a known state.
const activities = proxyActivities<TransferActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

type Compensation = { name: string; run: () => Promise<void> };

// The rail is another service: retry it patiently, but not for ever; then compensate.
const railActivities = proxyActivities<TransferActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 8 },
});

const DEFAULT_PAYOUT_TIMING = { settlementCheckSeconds: 60, returnWindowSeconds: 5 * 24 * 3600 };

/** For workflows whose input predates holdTtlSeconds. */
const DEFAULT_HOLD_TTL_SECONDS = 3 * 24 * 3600;

/**
 * A transfer between two ledger accounts: validate → price (FX quote, fees) → screen → reserve →
 * [held → compliance decision] → post → completed.
 * A decline at any step undoes what earlier steps did (the compensation stack) and is recorded
 * on the transfer with seed 001's response code.
 *
 * Cancelling the workflow (e.g. from the Temporal UI) is honoured until funds are reserved; from
 * the reservation on, the money step runs to its end so the ledger is never left half-way, and
 * compensation and the outcome record always run.
 */
export async function transferWorkflow(input: TransferWorkflowInput): Promise<TransferOutcome> {
  return moveMoney(input, 'transfer');
}

/**
 * A payout to a beneficiary (seed 001's pay_out): the same validate → price → screen → reserve →
 * [held → decision] → post, to the payouts-in-transit account, then → send through the payout rail
 * → settle on confirmation. A permanent rejection, or a return after settlement, is compensated by
 * reversals, newest first; the payout ends `failed` or `returned`.
 */
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
  let decisionRequest: ComplianceDecisionSignal | undefined;
  const progress = () => ({ transferId: input.transferId, status, step, outcome });
  setHandler(awaitTransferOutcomeUpdate, async () => {
    // Held counts as an answer only while no decision has arrived; after one, wait for the outcome.
    await condition(() => outcome !== null || (status === 'held' && decisionRequest === undefined));
    return progress();
  });
  setHandler(complianceDecisionSignal, (decision) => {
    // Signals typed by hand (CLI/UI) are not checked by anyone else: a malformed one is ignored, not
    // kept as the first decision (recording it would fail the transfer with contact_support).
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
  let result: Omit<TransferOutcome, 'transferId'>;
  try {
    await activities.validateTransfer(ref);
    // Workflows started before pricing existed replay without this step (their transfers were
    // priced by the migration); new ones price first.
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
        ? (decisionRequest as ComplianceDecisionSignal)
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
    // Wait for the rail's return callback, and ask the rail now and then in case one was lost
    // (at most ~50 times over the window, to keep the history small).
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

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const nonBlank = (v: unknown) => typeof v === 'string' && v.trim().length > 0;

/** A decision the activity can record: release or reject, with a reviewer and a reason. */
function isWellFormedDecision(d: unknown): d is ComplianceDecisionSignal {
  if (typeof d !== 'object' || d === null) return false;
  const { decision, reviewer, reason, reviewerKeyId } = d as Record<string, unknown>;
  return (
    (decision === 'release' || decision === 'reject') &&
    nonBlank(reviewer) &&
    nonBlank(reason) &&
    (reviewerKeyId === undefined || reviewerKeyId === null || (typeof reviewerKeyId === 'string' && UUID_RE.test(reviewerKeyId)))
  );
}

/** Maps an activity's failure to the transfer's outcome: a known decline reason or contact_support. */
function refusalOutcome(err: unknown): Omit<TransferOutcome, 'transferId'> {
  if (isCancellation(err)) {
    return { status: 'failed', responseCode: ResponseCode.ContactSupport, message: 'contact_support: cancelled by an operator' };
  }
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (err instanceof ActivityFailure && err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) {
    return { status: 'failed', responseCode: ResponseCode.ContactSupport, message: `contact_support: ${err.activityType} kept failing: ${cause instanceof Error ? cause.message : ''}`.slice(0, 500) };
  }
  if (cause instanceof ApplicationFailure && isTransferFailureType(cause.type)) {
    const responseCode = FAILURE_RESPONSE_CODES[cause.type];
    // The rail refusing a payout we had already posted is a failure (compensated), not a decline.
    const status = cause.type === TransferFailureType.RailRejected ? 'failed' : 'declined';
    return { status, responseCode, message: `${RESPONSE_MESSAGES[responseCode]}: ${cause.message}` };
  }
  if (cause instanceof ApplicationFailure && cause.nonRetryable) {
    return {
      status: 'failed',
      responseCode: ResponseCode.ContactSupport,
      message: `${RESPONSE_MESSAGES[ResponseCode.ContactSupport]}: ${cause.message}`,
    };
  }
  // Anything else is a bug in workflow code: failing the workflow task makes Temporal retry it
  // once a fixed worker is deployed, with the transfer's state intact.
  throw err;
}
