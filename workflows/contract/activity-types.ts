/**
 * What the workflows ask of the worker: every activity's name, input and result. The activities
 * (activities/) implement these; the workflows proxy them. Names, inputs and results are recorded
 * in running workflows' histories: they change only in ways those histories still replay.
 */
import type { ComplianceDecision, DecisionKind } from './movement';
import type { RecordedOutcome } from './outcomes';

/** Every step is keyed by the transfer (or payout) it works on; it loads the rest itself. */
export type TransferRef = { transferId: string };

/**
 * What the preparation decided: it is over (refused, or a transfer posted and completed); a payout
 * is posted to payouts in transit (`posted`: on to the rail); it waits for a compliance officer with
 * its funds reserved (`await_decision`); or, released, its reservation is to be posted (`post`).
 */
export type Preparation =
  | { next: 'done'; outcome: RecordedOutcome }
  | { next: 'posted' }
  | { next: 'await_decision'; reason: string }
  | { next: 'post' };

/** What refusing found: the outcome now recorded (this one, or an earlier one), or a movement already posted. */
export type Refused = { outcome: RecordedOutcome } | { posted: true };

/** The database steps of a transfer (and of a payout up to its posting): local activities, one commit each. */
export type TransferStepActivities = {
  /** Validate → price → screen → post (or reserve, when held for compliance), decided in one commit. */
  prepareTransfer(input: TransferRef & { holdTtlSeconds: number }): Promise<Preparation>;
  /** Posts a released transfer, consuming its reservation, and records it completed. */
  completeTransfer(input: TransferRef): Promise<RecordedOutcome>;
  /** Gives the reservation back (if any) and records why the transfer ends unposted. */
  refuseTransfer(input: TransferRef & { outcome: RecordedOutcome }): Promise<Refused>;
  /** Records an outcome, once: the last resort when a step cannot be undone (contact_support). */
  recordTransferOutcome(input: TransferRef & RecordedOutcome): Promise<void>;
};

/** The compliance step of a held transfer or payout: a local activity. */
export type ComplianceActivities = {
  /** Records the first decision and applies it: released → on to posting (`outcome` null); rejected or expired → declined 651. */
  applyComplianceDecision(input: TransferRef & ComplianceDecision): Promise<{ decision: DecisionKind; outcome: RecordedOutcome | null }>;
};

/** A payout's ledger steps after its preparation: local activities, one commit each. */
export type PayoutLedgerActivities = {
  /** source → payouts in transit, consuming the reservation; the payout stays open until settled. */
  postPayout(input: TransferRef): Promise<void>;
  /** The rail settled it: in transit → funding, and the payout recorded completed. */
  completePayout(input: TransferRef): Promise<RecordedOutcome>;
  /** Rejected by the rail, or returned by the beneficiary's bank: reversed and recorded. */
  refundPayout(input: TransferRef & ({ outcome: RecordedOutcome } | { returned: string })): Promise<RecordedOutcome>;
};

/** The rail's view of a payout: settled, returned, rejected, accepted and on its way, or unknown to it. */
export type RailSeen = { status: 'accepted' | 'rejected' | 'settled' | 'returned' | 'unknown'; railReference?: string; reason?: string };

/** Calls to the payout rail, another service: remote activities, retried with backoff. */
export type RailActivities = {
  /** Sends a posted payout; a permanent rejection is a non-retryable failure. */
  sendPayout(input: TransferRef & { resend?: boolean }): Promise<{ railReference: string }>;
  checkPayoutOnRail(input: TransferRef): Promise<RailSeen>;
};

/** What the first workflow version kept of the price. */
export type PriceSummary = { sourceAmount: string; targetAmount: string; fxRate: string; marketRate: string; fixedFee: string; spreadFee: string };

/** The first workflow version's steps, an activity each, kept while the workflows it started drain. */
export type LegacyActivities = {
  validateTransfer(input: TransferRef): Promise<void>;
  priceTransfer(input: TransferRef): Promise<PriceSummary>;
  screenTransfer(input: TransferRef): Promise<{ outcome: 'approve' | 'hold' | 'decline'; screeningId: string; summary: string }>;
  /** Its result's field keeps its recorded name: the reservation's id. */
  reserveFunds(input: TransferRef): Promise<{ holdId: string }>;
  holdTransfer(input: TransferRef & { expiresInSeconds: number; reason: string }): Promise<void>;
  recordComplianceDecision(input: TransferRef & ComplianceDecision): Promise<{ decision: DecisionKind; reviewer: string; reason: string }>;
  postTransfer(input: TransferRef): Promise<{ ledgerTransactionId: string }>;
  releaseFunds(input: TransferRef): Promise<void>;
  settlePayout(input: TransferRef): Promise<void>;
  reversePayout(input: TransferRef): Promise<void>;
  recordPayoutReturned(input: TransferRef & { reason: string }): Promise<void>;
};

export type AttemptInput = {
  eventId: string;
  endpointId: string;
  /** The delivery workflow making the attempt, and which attempt of it this is. */
  workflowId: string;
  attempt: number;
  /** When the workflow will try again if this one fails (null: this is its last). */
  nextAttemptInSeconds: number | null;
};

export type AttemptResult = { outcome: 'succeeded' | 'failed'; responseStatus: number | null } | { outcome: 'skipped'; reason: 'endpoint_deleted' | 'endpoint_disabled' };

/** Webhook deliveries: HTTP calls to customers' endpoints, on the activity-only webhook worker's queue. */
export type WebhookActivities = {
  attemptWebhookDelivery(input: AttemptInput): Promise<AttemptResult>;
  abandonWebhookDelivery(input: { endpointId: string; workflowId: string; attempts: number; windowSeconds: number }): Promise<{ disabled: boolean }>;
};

/** Every activity of a transfer's or payout's workflow, current and first versions: what the worker's main task queue runs. */
export type MovementActivities = TransferStepActivities & ComplianceActivities & PayoutLedgerActivities & RailActivities & LegacyActivities;
