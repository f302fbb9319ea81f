import type { TransferRow } from '../transfers/model';
import type { TransferRepository } from '../transfers/repository';
import { Refusal } from '../refusal';
import { PayoutRefusal } from './refusals';

/**
 * The payout a rail callback is about, once it fits: the event must name the rail reference
 * recorded on the payout when the rail accepted it. Undefined when there is no such payout.
 */
export async function payoutForRailEvent(transfers: TransferRepository, event: { payout_id: string; rail_reference: string }): Promise<TransferRow | undefined> {
  const payout = await transfers.get(event.payout_id);
  if (!payout || payout.kind !== 'payout') return undefined;
  if (payout.rail_reference === null) {
    // The rail answers the send, then may call back before the send activity has recorded its
    // reference: an open payout answers 409 and the rail retries. A closed one never will be sent.
    if (payout.completed_at !== null) throw new Refusal(PayoutRefusal.Closed, 'This payout no longer accepts rail events.');
    throw new Refusal(PayoutRefusal.RailReferenceNotRecorded, 'No rail reference is recorded for this payout yet; retry shortly.', '#/rail_reference');
  }
  if (payout.rail_reference !== event.rail_reference) throw new Refusal(PayoutRefusal.RailReferenceMismatch, "The rail reference is not this payout's.", '#/rail_reference');
  return payout;
}
