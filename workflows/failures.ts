/** How the workflows read what went wrong and what they were sent: shared by every workflow version. */
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import { contactSupport, isKnownFailureType, knownFailureOutcome, type ComplianceDecision, type RecordedOutcome } from './contract';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const nonBlank = (v: unknown) => typeof v === 'string' && v.trim().length > 0;

/** A decision the activity can record: release or reject, with a reviewer and a reason. */
export function isWellFormedDecision(d: unknown): d is ComplianceDecision<'release' | 'reject'> {
  if (typeof d !== 'object' || d === null) return false;
  const { decision, reviewer, reason, reviewerKeyId } = d as Record<string, unknown>;
  return (
    (decision === 'release' || decision === 'reject') &&
    nonBlank(reviewer) &&
    nonBlank(reason) &&
    (reviewerKeyId === undefined || reviewerKeyId === null || (typeof reviewerKeyId === 'string' && UUID_RE.test(reviewerKeyId)))
  );
}

/** The outcome a refused step's failure carries (activities/refusals.ts), if it carries one. */
function carriedOutcome(failure: ApplicationFailure): RecordedOutcome | undefined {
  const [first] = failure.details ?? [];
  if (typeof first !== 'object' || first === null) return undefined;
  const { status, responseCode, message } = first as Record<string, unknown>;
  const ended = status === 'declined' || status === 'failed' || status === 'completed' || status === 'returned';
  return ended && typeof responseCode === 'string' && typeof message === 'string' ? (first as RecordedOutcome) : undefined;
}

/**
 * Maps a step's failure to the transfer's outcome: an operator's cancellation, a refusal (the
 * outcome it carries, or a known failure type's), or contact_support. Anything else is a bug in
 * workflow code: it is thrown, so the workflow task fails and Temporal retries it once a fixed
 * worker is deployed.
 */
export function outcomeOfFailure(err: unknown): RecordedOutcome {
  if (isCancellation(err)) return contactSupport('cancelled by an operator');
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (err instanceof ActivityFailure && err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) {
    return contactSupport(`${err.activityType} kept failing: ${cause instanceof Error ? cause.message : ''}`);
  }
  if (cause instanceof ApplicationFailure) {
    const carried = carriedOutcome(cause);
    if (carried) return carried;
    if (isKnownFailureType(cause.type)) return knownFailureOutcome(cause.type, cause.message);
    if (cause.nonRetryable) return contactSupport(cause.message);
  }
  throw err;
}
