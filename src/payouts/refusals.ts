import type { CodeOf } from '../refusal';

/** What payouts refuse: the rail rejecting one (it fails, and is refunded), and rail callbacks that do not fit the payout. */
export const PayoutRefusal = {
  RailRejected: 'rail_rejected',
  /** The payout's workflow has ended: it takes no more rail events. */
  Closed: 'payout_closed',
  RailReferenceMismatch: 'rail_reference_mismatch',
  /** The rail called back before the send recorded its reference: the rail retries. */
  RailReferenceNotRecorded: 'rail_reference_not_recorded',
} as const;
export type PayoutRefusalCode = CodeOf<typeof PayoutRefusal>;
