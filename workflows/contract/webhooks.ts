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
