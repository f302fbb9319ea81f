import type { DecisionRequest, HoldDecisions } from '../src/compliance/hold-decisions';
import type { DecisionKind } from '../src/compliance/service';
import type { RecordedOutcome } from '../src/transfers/outcomes';
import { withFailureMapping } from './failures';
import type { TransferRef } from './transfers';

/** The compliance step of a held transfer or payout, run as a local activity. */
export function createComplianceActivities(deps: { holdDecisions: HoldDecisions }) {
  return withFailureMapping({
    /**
     * Records the decision (the first recorded wins, wherever it came from) and applies it in one
     * commit: released → on to posting (`outcome` null); rejected or expired → funds released, declined 651.
     */
    async applyComplianceDecision(input: TransferRef & DecisionRequest): Promise<{ decision: DecisionKind; outcome: RecordedOutcome | null }> {
      const { transferId, ...request } = input;
      return deps.holdDecisions.apply(transferId, request);
    },
  });
}

export type ComplianceActivities = ReturnType<typeof createComplianceActivities>;
