import type { HoldService } from '../src/compliance/holds';
import { ComplianceRefusal } from '../src/compliance/refusals';
import type { Db } from '../src/db/knex';
import { Refusal } from '../src/refusal';
import type { TransferRepository } from '../src/transfers/repository';
import type { ComplianceActivities } from '../workflows/contract';
import type { MovementSteps } from './movements';
import { outcomeOfRefusal, withFailureMapping } from './refusals';

/** The compliance step of a held transfer or payout, run as a local activity. */
export function createComplianceActivities(deps: { db: Db; holds: HoldService; transfers: TransferRepository; movements: MovementSteps }): ComplianceActivities {
  return withFailureMapping<ComplianceActivities>({
    /**
     * Records the decision (the first recorded wins, wherever it came from) and applies it in one
     * commit: a release sends the movement on to be posted (`outcome` null); a rejection or an
     * expiry gives the reserved funds back and declines it (651).
     */
    async applyComplianceDecision(input) {
      const { transferId, ...request } = input;
      return deps.db.transaction(async (trx) => {
        const first = await deps.holds.recordDecision(transferId, request, trx);
        if (first.decision === 'release') {
          await deps.transfers.resume(transferId, trx);
          return { decision: first.decision, outcome: null };
        }
        const why = `${first.decision === 'expire' ? 'hold expired' : `rejected by ${first.reviewer}`}: ${first.reason}`;
        const refused = await deps.movements.refuse(transferId, outcomeOfRefusal(new Refusal(ComplianceRefusal.Rejected, why)), trx);
        // A held movement is posted only after a release, so a rejection always finds it unposted.
        if (!('outcome' in refused)) throw new Error(`Transfer ${transferId} was posted while held`);
        return { decision: first.decision, outcome: refused.outcome };
      });
    },
  });
}
