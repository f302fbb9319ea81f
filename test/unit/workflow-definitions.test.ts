import * as workflows from '../../workflows';
import { transferWorkflowV2 } from '../../workflows/transfer';
import { payoutWorkflowV2 } from '../../workflows/payout';
import { webhookDeliveryWorkflow } from '../../workflows/webhook-delivery';
import { LEGACY_WORKFLOW_TYPES, PAYOUT_WORKFLOW_TYPE, TRANSFER_WORKFLOW_TYPE, transferWorkflowId, WEBHOOK_DELIVERY_WORKFLOW_TYPE } from '../../workflows/contract';

test('clients start the workflows by the names the worker registers them under', () => {
  expect(transferWorkflowV2.name).toBe(TRANSFER_WORKFLOW_TYPE);
  expect(payoutWorkflowV2.name).toBe(PAYOUT_WORKFLOW_TYPE);
  expect(webhookDeliveryWorkflow.name).toBe(WEBHOOK_DELIVERY_WORKFLOW_TYPE);
});

test('the worker still registers the first versions, for the workflows they started', () => {
  expect(Object.keys(workflows).sort()).toEqual([...LEGACY_WORKFLOW_TYPES, PAYOUT_WORKFLOW_TYPE, TRANSFER_WORKFLOW_TYPE, WEBHOOK_DELIVERY_WORKFLOW_TYPE].sort());
});

test('the workflow id is derived from the transfer id', () => {
  expect(transferWorkflowId('3c90c3cc-0d44-4b50-8888-8dd25736052a')).toBe('transfer-3c90c3cc-0d44-4b50-8888-8dd25736052a');
});
