import { transferWorkflow } from '../../workflows/transfer';
import { TRANSFER_WORKFLOW_TYPE, transferWorkflowId } from '../../workflows/transfer-definitions';

test('clients start the transfer workflow by the name the worker registers it under', () => {
  expect(transferWorkflow.name).toBe(TRANSFER_WORKFLOW_TYPE);
});

test('the workflow id is derived from the transfer id', () => {
  expect(transferWorkflowId('3c90c3cc-0d44-4b50-8888-8dd25736052a')).toBe('transfer-3c90c3cc-0d44-4b50-8888-8dd25736052a');
});
