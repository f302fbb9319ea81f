/**
 * The transfer and payout workflows' public surface, defined once and imported by the workflows
 * and the API alike: their input, their outcome, the status query, the outcome update, the
 * signals and the search attributes.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ResponseCode, TransferStatus } from '../src/transfers/outcomes';

export type TransferWorkflowInput = {
  transferId: string;
  customerId: string;
  sourceAccountId: string;
  destinationAccountId: string;
  /** Decimal strings, as everywhere money travels; the side the client did not give is null until priced. */
  sourceAmount: string | null;
  sourceCurrency: string;
  targetAmount: string | null;
  targetCurrency: string;
  reference: string;
  /** How long a compliance hold waits for a decision before it is rejected on its own. */
  holdTtlSeconds: number;
  /** Payouts only: how often to ask the rail when no callback came, and how long a return is accepted. */
  payout?: { settlementCheckSeconds: number; returnWindowSeconds: number };
};

/** Where a workflow is; `preparing` is the new versions' first step, the next four are the first version's. */
export type TransferStep =
  | 'preparing'
  | 'validating'
  | 'pricing'
  | 'screening'
  | 'reserving'
  | 'awaiting_decision'
  | 'posting'
  | 'sending'
  | 'awaiting_settlement'
  | 'return_window'
  | 'reversing'
  | 'compensating'
  | 'recording'
  | 'done';

export type TransferOutcome = {
  transferId: string;
  status: Exclude<TransferStatus, 'processing'>;
  responseCode: ResponseCode;
  message: string;
};

export type TransferProgress = {
  transferId: string;
  status: TransferStatus;
  step: TransferStep;
  outcome: TransferOutcome | null;
};

/**
 * The registered workflow types (their function names). New transfers and payouts start the V2
 * types; the first versions stay registered while the workflows they started drain
 * (workflows/legacy/move-money.ts).
 */
export const TRANSFER_WORKFLOW_TYPE = 'transferWorkflowV2';
export const PAYOUT_WORKFLOW_TYPE = 'payoutWorkflowV2';
export const LEGACY_WORKFLOW_TYPES = ['transferWorkflow', 'payoutWorkflow'] as const;

/**
 * What the payout rail reports (through the API's /rail/events): a settlement, or a return of a
 * settled payout by the beneficiary's bank.
 */
export type RailEventSignal = { event: 'settled' | 'returned'; railReference: string; reason?: string };
export const railEventSignal = defineSignal<[RailEventSignal]>('railEvent');

export const transferWorkflowId = (transferId: string): string => `transfer-${transferId}`;
export const payoutWorkflowId = (payoutId: string): string => `payout-${payoutId}`;

/** Current status and step, for ops and the API. */
export const transferStatusQuery = defineQuery<TransferProgress>('transferStatus');

/**
 * Completes when the transfer reaches its outcome or is held for compliance (then `outcome` is null
 * and `status` is 'held'); the API sends it with update-with-start to answer synchronously.
 */
export const awaitTransferOutcomeUpdate = defineUpdate<TransferProgress>('awaitTransferOutcome');

/**
 * A compliance officer's decision on a held transfer. The API sends it after checking the
 * reviewer; it can also be sent from the Temporal CLI or UI:
 *   temporal workflow signal -w transfer-<id> --name complianceDecision \
 *     --input '{"decision":"release","reviewer":"jane@bank","reason":"documents checked"}'
 * The first decision recorded wins; later ones change nothing.
 */
export type ComplianceDecisionSignal = { decision: 'release' | 'reject'; reviewer: string; reason: string; reviewerKeyId?: string | null };
export const complianceDecisionSignal = defineSignal<[ComplianceDecisionSignal]>('complianceDecision');

export const TransferStatusSearchAttribute = defineSearchAttributeKey('TransferStatus', SearchAttributeType.KEYWORD);
export const CustomerIdSearchAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const SourceAccountIdSearchAttribute = defineSearchAttributeKey('SourceAccountId', SearchAttributeType.KEYWORD);

/** Every custom search attribute the workflows use; the dev server registers them at start. */
export const SEARCH_ATTRIBUTES = [TransferStatusSearchAttribute, CustomerIdSearchAttribute, SourceAccountIdSearchAttribute];

/** Webhooks: one event's delivery to one endpoint (workflows/webhook-delivery.ts). */
export const WEBHOOK_DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';
export type WebhookDeliveryInput = {
  eventId: string;
  endpointId: string;
  /** Seconds to wait after each failed attempt; one attempt more than there are delays, then the delivery is abandoned. */
  retryDelaysSeconds: number[];
  /** Where the HTTP attempts run: the activity-only webhook worker's queue. */
  activityTaskQueue: string;
};
export type WebhookDeliveryResult =
  | { outcome: 'delivered'; attempts: number }
  | { outcome: 'skipped'; attempts: number; reason: string }
  | { outcome: 'abandoned'; attempts: number; endpointDisabled: boolean };
/** The dispatcher's delivery of an event to an endpoint: one per pair, so a repeated dispatch starts nothing new. */
export const webhookDeliveryWorkflowId = (eventId: string, endpointId: string): string => `webhook-${eventId}-${endpointId}`;
/** The activity-only worker that makes the HTTP calls polls this queue beside the main one. */
export const webhookTaskQueue = (taskQueue: string): string => `${taskQueue}-webhooks`;
