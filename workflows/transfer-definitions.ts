/**
 * The transfer workflow's public surface, defined once and imported by both the workflow and the API:
 * its input, its outcome, the status query, the outcome update and its search attributes.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
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
};

export type TransferStep = 'validating' | 'pricing' | 'reserving' | 'posting' | 'compensating' | 'recording' | 'done';

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

/** The workflow's registered type (its function name in workflows/transfer.ts); clients start it by this name. */
export const TRANSFER_WORKFLOW_TYPE = 'transferWorkflow';

export const transferWorkflowId = (transferId: string): string => `transfer-${transferId}`;

/** Current status and step, for ops and the API. */
export const transferStatusQuery = defineQuery<TransferProgress>('transferStatus');

/** Completes when the transfer reaches its outcome; the API sends it with update-with-start to answer synchronously. */
export const awaitTransferOutcomeUpdate = defineUpdate<TransferOutcome>('awaitTransferOutcome');

export const TransferStatusSearchAttribute = defineSearchAttributeKey('TransferStatus', SearchAttributeType.KEYWORD);
export const CustomerIdSearchAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const SourceAccountIdSearchAttribute = defineSearchAttributeKey('SourceAccountId', SearchAttributeType.KEYWORD);

/** Every custom search attribute the workflows use; the dev server registers them at start. */
export const SEARCH_ATTRIBUTES = [TransferStatusSearchAttribute, CustomerIdSearchAttribute, SourceAccountIdSearchAttribute];
