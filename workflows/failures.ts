/** How the workflows read what went wrong and what they were sent: shared by every workflow version. */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { FAILURE_RESPONSE_CODES, isTransferFailureType, RESPONSE_MESSAGES, ResponseCode, TransferFailureType, type RecordedOutcome } from '../src/transfers/outcomes';
import type { ComplianceDecisionSignal } from './definitions';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const nonBlank = (v: unknown) => typeof v === 'string' && v.trim().length > 0;

/** A decision the activity can record: release or reject, with a reviewer and a reason. */
export function isWellFormedDecision(d: unknown): d is ComplianceDecisionSignal {
  if (typeof d !== 'object' || d === null) return false;
  const { decision, reviewer, reason, reviewerKeyId } = d as Record<string, unknown>;
  return (
    (decision === 'release' || decision === 'reject') &&
    nonBlank(reviewer) &&
    nonBlank(reason) &&
    (reviewerKeyId === undefined || reviewerKeyId === null || (typeof reviewerKeyId === 'string' && UUID_RE.test(reviewerKeyId)))
  );
}

/**
 * Maps a step's failure to the transfer's outcome: an operator's cancellation, a known refusal with
 * its response code, or contact_support. Anything else is a bug in workflow code: it is thrown, so
 * the workflow task fails and Temporal retries it once a fixed worker is deployed.
 */
export function outcomeOfFailure(err: unknown): RecordedOutcome {
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
    return { status: 'failed', responseCode: ResponseCode.ContactSupport, message: `${RESPONSE_MESSAGES[ResponseCode.ContactSupport]}: ${cause.message}` };
  }
  throw err;
}
