import type { Db } from '../db/knex';
import type { MovementService } from '../transfers/movements';
import { refusalOutcome, TransferFailureType, type RecordedOutcome } from '../transfers/outcomes';
import type { TransferRepository } from '../transfers/repository';
import type { ComplianceService, DecisionKind, DecisionRow } from './service';

export type DecisionRequest = { decision: DecisionKind; reviewer: string; reason: string; reviewerKeyId?: string | null };

/**
 * A decision on a held transfer or payout, from the API, a signal typed into the CLI/UI, or the
 * hold's expiry. The first decision recorded wins (a UNIQUE constraint per subject) and is the one
 * applied; decisions that did not come through the API are audited here.
 */
export function createHoldDecisions(deps: { db: Db; compliance: ComplianceService; transfers: TransferRepository; movements: MovementService }) {
  const { db, compliance, transfers } = deps;

  /** Records the decision (if it is the first) and returns the first one. */
  async function record(transferId: string, request: DecisionRequest, trx: Db = db): Promise<DecisionRow> {
    // A key id typed into a CLI signal may name no key: keep the reviewer's name, drop the link.
    const reviewerKeyId = request.reviewerKeyId && (await trx('api_keys').where({ id: request.reviewerKeyId }).first('id')) ? request.reviewerKeyId : null;
    const t = await transfers.mustGet(transferId, trx);
    const { decision, recorded } = await compliance.recordDecision(
      { subjectType: t.kind, subjectId: transferId, decision: request.decision, reviewer: request.reviewer, reviewerKeyId, reason: request.reason },
      trx,
    );
    if (recorded) {
      await compliance.audit(
        {
          actor: request.reviewer,
          actorKeyId: reviewerKeyId,
          action: request.decision,
          subjectType: t.kind,
          subjectId: transferId,
          reason: request.reason,
          outcome: 'applied',
          remoteAddr: request.decision === 'expire' ? 'workflow timer' : 'temporal signal',
        },
        trx,
      );
    }
    return decision;
  }

  /**
   * Records and applies the first decision in one commit: a release sends the transfer on to be
   * posted; a rejection or an expiry gives the reserved funds back and declines it (651).
   */
  async function apply(transferId: string, request: DecisionRequest): Promise<{ decision: DecisionKind; outcome: RecordedOutcome | null }> {
    return db.transaction(async (trx) => {
      const first = await record(transferId, request, trx);
      if (first.decision === 'release') {
        await transfers.resume(transferId, trx);
        return { decision: first.decision, outcome: null };
      }
      const why = `${first.decision === 'expire' ? 'hold expired' : `rejected by ${first.reviewer}`}: ${first.reason}`;
      const refused = await deps.movements.refuse(transferId, refusalOutcome(TransferFailureType.ComplianceRejected, why), trx);
      // A held movement is posted only after a release, so a rejection always finds it unposted.
      if (!('outcome' in refused)) throw new Error(`Transfer ${transferId} was posted while held`);
      return { decision: first.decision, outcome: refused.outcome };
    });
  }

  return { record, apply };
}

export type HoldDecisions = ReturnType<typeof createHoldDecisions>;
