import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** What ops filter workflows by in the Temporal UI and CLI: the status (kept current by the workflow), the customer and the source account (set at start). */
export const TransferStatusSearchAttribute = defineSearchAttributeKey('TransferStatus', SearchAttributeType.KEYWORD);
export const CustomerIdSearchAttribute = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const SourceAccountIdSearchAttribute = defineSearchAttributeKey('SourceAccountId', SearchAttributeType.KEYWORD);

/** Every custom search attribute the workflows use; every Temporal this service runs on registers them. */
export const SEARCH_ATTRIBUTES = [TransferStatusSearchAttribute, CustomerIdSearchAttribute, SourceAccountIdSearchAttribute];
