/**
 * A domain's refusal reaches the outside at two edges only: the API's table (src/api/refusals.ts)
 * and the workflows' (activities/refusals.ts). These check that the two edges and the workflow
 * contract agree, and that a refusal's outcome travels to the workflow with its failure.
 */
import { ApplicationFailure } from '@temporalio/common';
import { asActivityFailure, MOVEMENT_REFUSALS, outcomeOfRefusal } from '../../activities/refusals';
import { HTTP_ANSWERS, refusalAsApiError } from '../../src/api/refusals';
import { LedgerRefusal } from '../../src/ledger/refusals';
import { PricingRefusal } from '../../src/pricing/refusals';
import { Refusal } from '../../src/refusal';
import { TransferRefusal } from '../../src/transfers/refusals';
import { KNOWN_FAILURE_OUTCOMES, TransferFailureType } from '../../workflows/contract';
import { outcomeOfFailure } from '../../workflows/failures';

test('every refusal that ends a movement ends it as the workflow contract knows its failure type', () => {
  for (const [code, end] of Object.entries(MOVEMENT_REFUSALS)) {
    const known = KNOWN_FAILURE_OUTCOMES[end.failureType as TransferFailureType];
    expect({ code, responseCode: end.responseCode, status: end.status }).toEqual({ code, responseCode: known.responseCode, status: known.status });
  }
  // Each failure type of the recorded histories is still what some refusal raises.
  const raised = new Set(Object.values(MOVEMENT_REFUSALS).map((end) => end.failureType));
  expect(Object.values(TransferFailureType).filter((t) => !raised.has(t))).toEqual([]);
});

test('a refused step fails with its failure type and carries the outcome, which the workflow records as it is', () => {
  const failure = asActivityFailure(new Refusal(LedgerRefusal.InsufficientFunds, 'The available balance does not cover the amount')) as ApplicationFailure;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type: 'InsufficientFunds', nonRetryable: true });
  const outcome = { status: 'declined', responseCode: '650', message: 'insufficient_funds: The available balance does not cover the amount' };
  expect(failure.details).toEqual([outcome]);
  expect(outcomeOfFailure(failure)).toEqual(outcome);
});

test('the workflow needs no table for a refusal added later: the outcome a failure carries is the one recorded', () => {
  const later = ApplicationFailure.create({ type: 'SomeRefusalAddedLater', message: 'why', nonRetryable: true, details: [{ status: 'declined', responseCode: '101', message: 'declined: why' }] });
  expect(outcomeOfFailure(later)).toEqual({ status: 'declined', responseCode: '101', message: 'declined: why' });
  // A failure recorded before outcomes travelled with failures is read by its type, as it was.
  expect(outcomeOfFailure(ApplicationFailure.create({ type: 'FxRateStale', message: 'old rate', nonRetryable: true }))).toEqual({ status: 'declined', responseCode: '101', message: 'declined: old rate' });
});

test('other refusals are not declines: non-retryable, named by their domain, with no outcome to record', () => {
  const failure = asActivityFailure(new Refusal(LedgerRefusal.ReservationNotPending, 'already posted')) as ApplicationFailure;
  expect({ type: failure.type, nonRetryable: failure.nonRetryable, details: failure.details ?? [] }).toEqual({ type: 'Ledger.hold_not_pending', nonRetryable: true, details: [] });
  expect(outcomeOfFailure(failure)).toEqual({ status: 'failed', responseCode: '606', message: 'contact_support: already posted' });
});

test('the same refusal over HTTP: its row gives the status, the wire code and the input', () => {
  expect(refusalAsApiError(new Refusal(PricingRefusal.FxRateRequired, 'No market rate.', '#/target_currency')).errors).toEqual([{ error_code: 'fx_rate_unavailable', message: 'No market rate.', path: '#/target_currency' }]);
  const reused = refusalAsApiError(new Refusal(TransferRefusal.IdempotencyKeyReused, 'used'));
  expect({ status: reused.status, errors: reused.errors }).toEqual({ status: 422, errors: [{ error_code: 'idempotency_key_reused', message: 'used', path: 'header/Idempotency-Key' }] });
  // A movement's decline never reaches a request: were one to, it would be the bug it is (500).
  expect(refusalAsApiError(new Refusal(TransferRefusal.SameAccount, 'same')).status).toBe(500);
  expect(Object.keys(HTTP_ANSWERS).length).toBeGreaterThan(40);
  expect(outcomeOfRefusal(new Refusal(PricingRefusal.AmountTooSmall, 'nothing would arrive'))).toEqual({ status: 'declined', responseCode: '101', message: 'declined: nothing would arrive' });
});
