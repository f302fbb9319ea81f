/**
 * The transfer and payout workflows' public surface: their input, where they are, what they end
 * with, and the messages they take (the status query, the outcome update, the compliance decision
 * and rail event signals). The API starts and talks to them through these; the workflows implement them.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RecordedOutcome, ResponseCode, TransferStatus } from './outcomes';

/** Payouts only: how often to ask the rail when no callback came, and how long a return is accepted. */
export type PayoutTiming = { settlementCheckSeconds: number; returnWindowSeconds: number };

export type TransferWorkflowInput = {
  transferId: string;
  customerId: string;
  sourceAccountId: string;
  destinationAccountId: string;
  /**
   * Decimal strings, as everywhere money travels, in the currency's minor units as the API shows
   * them ("12000.00"); workflows started before that carry the database's scale ("12000.00000000").
   * Workflow code reads neither (its steps load the transfer), so both replay alike. The side the
   * client did not give is null until priced.
   */
  sourceAmount: string | null;
  sourceCurrency: string;
  targetAmount: string | null;
  targetCurrency: string;
  reference: string;
  /** How long a compliance hold waits for a decision before it is rejected on its own. */
  holdTtlSeconds: number;
  payout?: PayoutTiming;
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

/** A workflow's outcome once recorded: the transfer's id with its recorded outcome. */
export const finalOutcome = (transferId: string, recorded: RecordedOutcome): TransferOutcome => ({ transferId, ...recorded });

/** The shape of every transfer and payout workflow type, as the API starts them by name. */
export type MovementWorkflow = (input: TransferWorkflowInput) => Promise<TransferOutcome>;

/**
 * The registered workflow types (their function names). New transfers and payouts start the V2
 * types; the first versions stay registered while the workflows they started drain
 * (workflows/legacy/move-money.ts).
 */
export const TRANSFER_WORKFLOW_TYPE = 'transferWorkflowV2';
export const PAYOUT_WORKFLOW_TYPE = 'payoutWorkflowV2';
export const LEGACY_WORKFLOW_TYPES = ['transferWorkflow', 'payoutWorkflow'] as const;

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
 * What the payout rail reports (through the API's /rail/events): a settlement, or a return of a
 * settled payout by the beneficiary's bank.
 */
export type RailEventSignal = { event: 'settled' | 'returned'; railReference: string; reason?: string };
export const railEventSignal = defineSignal<[RailEventSignal]>('railEvent');

/** How a compliance hold ends: released or rejected by an officer, or expired with nobody deciding. */
export type DecisionKind = 'release' | 'reject' | 'expire';

/**
 * A decision on a held transfer or payout: an officer's (through the API, or typed into the CLI or
 * UI as the `complianceDecision` signal) or the hold's expiry. The first one recorded wins.
 */
export type ComplianceDecision<K extends DecisionKind = DecisionKind> = { decision: K; reviewer: string; reason: string; reviewerKeyId?: string | null };

/**
 * An officer's decision, as a signal. The API sends it after checking the reviewer; it can also be
 * sent from the Temporal CLI or UI:
 *   temporal workflow signal -w transfer-<id> --name complianceDecision \
 *     --input '{"decision":"release","reviewer":"jane@bank","reason":"documents checked"}'
 * The first decision recorded wins; later ones change nothing.
 */
export const complianceDecisionSignal = defineSignal<[ComplianceDecision<'release' | 'reject'>]>('complianceDecision');
