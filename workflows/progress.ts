import { condition, log, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { RecordedOutcome, TransferStatus } from '../src/transfers/outcomes';
import {
  awaitTransferOutcomeUpdate,
  complianceDecisionSignal,
  transferStatusQuery,
  TransferStatusSearchAttribute,
  type ComplianceDecisionSignal,
  type TransferOutcome,
  type TransferProgress,
  type TransferStep,
} from './definitions';
import { isWellFormedDecision } from './failures';

export type Progress = ReturnType<typeof trackProgress>;

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
  let decision: ComplianceDecisionSignal | undefined;
  const snapshot = (): TransferProgress => ({ transferId, status, step, outcome });

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
  };

  return {
    at(next: TransferStep) {
      step = next;
    },
    setStatus,
    /** The first well-formed decision signalled, if any. */
    decision: () => decision,
    /** The outcome is recorded: answer the API's update, show it in the UI. */
    finish(recorded: RecordedOutcome): TransferOutcome {
      outcome = { transferId, ...recorded };
      setStatus(recorded.status);
      step = 'done';
      return outcome;
    },
  };
}
