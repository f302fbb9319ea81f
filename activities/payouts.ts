import type { PayoutService, RailSeen } from '../src/payouts/service';
import type { MovementService } from '../src/transfers/movements';
import { TransferFailureType, type RecordedOutcome } from '../src/transfers/outcomes';
import { decline, withFailureMapping } from './failures';
import type { TransferRef } from './transfers';

/**
 * A payout's steps after its preparation: posting to payouts in transit, the rail calls (remote
 * activities: another service, retried patiently) and the settlement or refund (local activities).
 */
export function createPayoutActivities(deps: { movements: MovementService; payouts: PayoutService }) {
  const { payouts } = deps;
  return withFailureMapping({
    /** source → payouts in transit, consuming the reservation; the payout stays open until settled. */
    async postPayout({ transferId }: TransferRef): Promise<void> {
      await deps.movements.post(transferId, { complete: false });
    },

    /**
     * Sends a posted payout through the rail. Transient failures (5xx, network) throw and are retried
     * with backoff by the workflow; a permanent rejection is a non-retryable RailRejected.
     */
    async sendPayout({ transferId, resend }: TransferRef & { resend?: boolean }): Promise<{ railReference: string }> {
      const result = await payouts.send(transferId, { resend });
      if (result.status === 'rejected') throw decline(TransferFailureType.RailRejected, `rejected by the payout rail: ${result.reason}`);
      return { railReference: result.railReference };
    },

    /** The rail's view, when no callback came: settled, returned, rejected or still on its way. */
    async checkPayoutOnRail({ transferId }: TransferRef): Promise<RailSeen> {
      return payouts.check(transferId);
    },

    /** The rail settled it: in transit → funding, and the payout recorded completed, in one commit. */
    async completePayout({ transferId }: TransferRef): Promise<RecordedOutcome> {
      return (await payouts.settle(transferId, { complete: true })) as RecordedOutcome;
    },

    /** Rejected by the rail, or returned by the beneficiary's bank: reversed and recorded in one commit. */
    async refundPayout(input: TransferRef & ({ outcome: RecordedOutcome } | { returned: string })): Promise<RecordedOutcome> {
      const { transferId, ...why } = input;
      return payouts.refund(transferId, why);
    },
  });
}

export type PayoutActivities = ReturnType<typeof createPayoutActivities>;
