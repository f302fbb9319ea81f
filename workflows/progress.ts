import { condition, log, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  awaitTransferOutcomeUpdate,
  complianceDecisionSignal,
  finalOutcome,
  transferStatusQuery,
  TransferStatusSearchAttribute,
  type ComplianceDecision,
  type RecordedOutcome,
  type TransferOutcome,
  type TransferProgress,
  type TransferStatus,
  type TransferStep,
} from './contract';
import { isWellFormedDecision } from './failures';

export type Progress = ReturnType<typeof trackProgress>;

/** What a step is waiting for, in words. */
const STEP_DETAILS: Partial<Record<TransferStep, string>> = {
  preparing: 'Preparing: validating, pricing and screening.',
  awaiting_decision:
    '**Held for compliance review**: waiting for a decision (release or reject through the API, or the `complianceDecision` signal); ' +
    'without one, the hold expires and the payment is declined.',
  posting: 'Released: posting to the ledger.',
  sending: 'Sending to the payout rail.',
  awaiting_settlement: 'Sent: waiting for the payout rail to confirm settlement.',
  return_window: 'Settled: open for returns from the beneficiary bank until the return window closes.',
  reversing: 'Returned by the beneficiary bank: reversing the ledger entries.',
  compensating: 'Refused: releasing the reservation.',
};

/** The workflow's "current details" in the Temporal UI: where it is and what it waits for (no command: replay-safe). */
function describe(status: TransferStatus, step: TransferStep, outcome: TransferOutcome | null): string {
  if (step === 'done' && outcome) return `**${outcome.status}** (response code ${outcome.responseCode}): ${outcome.message}`;
  return STEP_DETAILS[step] ?? `Status ${status}, step ${step}.`;
}

/**
 * What the outside world sees of a running transfer or payout: the `transferStatus` query, the
 * `awaitTransferOutcome` update the API waits on, the `complianceDecision` signal, and the
 * TransferStatus search attribute, upserted only when the status changes (the workflow starts
 * with it set to `processing`).
 */
export function trackProgress(transferId: string) {
  let status: TransferStatus = 'processing';
  let step: TransferStep = 'preparing';
  let outcome: TransferOutcome | null = null;
  // A decision can arrive before the workflow waits for it (it is kept) or twice (the first counts).
  let decision: ComplianceDecision<'release' | 'reject'> | undefined;
  const snapshot = (): TransferProgress => ({ transferId, status, step, outcome });
  const showDetails = () => setCurrentDetails(describe(status, step, outcome));
  showDetails();

  setHandler(transferStatusQuery, snapshot);
  setHandler(awaitTransferOutcomeUpdate, async () => {
    // Held counts as an answer only while no decision has arrived; after one, wait for the outcome.
    await condition(() => outcome !== null || (status === 'held' && decision === undefined));
    return snapshot();
  });
  setHandler(complianceDecisionSignal, (d) => {
    // Signals typed by hand (CLI/UI) are not checked by anyone else: a malformed one is ignored, not
    // kept as the first decision (recording it would fail the transfer with contact_support).
    if (!isWellFormedDecision(d)) {
      log.warn('Ignored a malformed compliance decision', { transferId });
      return;
    }
    decision ??= d;
  });

  const setStatus = (next: TransferStatus) => {
    if (next === status) return;
    status = next;
    upsertSearchAttributes([{ key: TransferStatusSearchAttribute, value: status }]);
    showDetails();
  };

  return {
    at(next: TransferStep) {
      step = next;
      showDetails();
    },
    setStatus,
    /** The first well-formed decision signalled, if any. */
    decision: () => decision,
    /** The outcome is recorded: answer the API's update, show it in the UI. */
    finish(recorded: RecordedOutcome): TransferOutcome {
      outcome = finalOutcome(transferId, recorded);
      setStatus(recorded.status);
      step = 'done';
      showDetails();
      return outcome;
    },
  };
}
