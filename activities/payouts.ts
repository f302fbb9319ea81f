import { PayoutRefusal } from '../src/payouts/refusals';
import { Refusal } from '../src/refusal';
import type { PayoutLedgerActivities, RailActivities, RecordedOutcome } from '../workflows/contract';
import type { MovementSteps } from './movements';
import type { PayoutSteps } from './payout-steps';
import { withFailureMapping } from './refusals';

/**
 * A payout's steps after its preparation: posting to payouts in transit and the settlement or
 * refund (local activities: one commit each), and the rail calls (remote activities: another
 * service, retried patiently by the workflow).
 */
export function createPayoutActivities(deps: { movements: MovementSteps; payouts: PayoutSteps }): PayoutLedgerActivities & RailActivities {
  const { payouts } = deps;
  return withFailureMapping<PayoutLedgerActivities & RailActivities>({
    async postPayout({ transferId }) {
      await deps.movements.post(transferId, { complete: false });
    },

    /**
     * Sends a posted payout through the rail. Transient failures (5xx, network) throw and are retried
     * with backoff by the workflow; a permanent rejection is refused (rail_rejected: the payout fails).
     */
    async sendPayout({ transferId, resend }) {
      const result = await payouts.send(transferId, { resend });
      if (result.status === 'rejected') throw new Refusal(PayoutRefusal.RailRejected, `rejected by the payout rail: ${result.reason}`);
      return { railReference: result.railReference };
    },

    /** The rail's view, when no callback came: settled, returned, rejected or still on its way. */
    async checkPayoutOnRail({ transferId }) {
      return payouts.check(transferId);
    },

    async completePayout({ transferId }) {
      return (await payouts.settle(transferId, { complete: true })) as RecordedOutcome;
    },

    async refundPayout(input) {
      const { transferId, ...why } = input;
      return payouts.refund(transferId, why);
    },
  });
}
