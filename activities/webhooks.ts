import type { AttemptInput, AttemptResult, WebhookDelivery } from '../src/webhooks/delivery';

/**
 * Webhook deliveries: HTTP calls to customers' endpoints, run by their own activity-only worker on
 * the `<task queue>-webhooks` queue, so that a slow or failing receiver never holds a slot a
 * transfer needs. Each attempt is recorded (src/webhooks/delivery.ts) and safe to repeat.
 */
export function createWebhookActivities(deps: { delivery: WebhookDelivery }) {
  return {
    async attemptWebhookDelivery(input: AttemptInput): Promise<AttemptResult> {
      return deps.delivery.attempt(input);
    },
    async abandonWebhookDelivery(input: { endpointId: string; workflowId: string; attempts: number; windowSeconds: number }): Promise<{ disabled: boolean }> {
      return deps.delivery.abandon(input);
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
