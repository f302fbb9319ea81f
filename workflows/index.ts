/** Every workflow type the worker registers: the current versions, and the first ones while their runs drain. */
export { transferWorkflowV2 } from './transfer';
export { payoutWorkflowV2 } from './payout';
export { transferWorkflow, payoutWorkflow } from './legacy/move-money';
export { webhookDeliveryWorkflow } from './webhook-delivery';
