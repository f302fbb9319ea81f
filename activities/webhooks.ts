import type { WebhookActivities } from '../workflows/contract';
import type { WebhookDelivery } from './webhook-delivery';

/**
 * Webhook deliveries: HTTP calls to customers' endpoints, run by their own activity-only worker on
 * the `<task queue>-webhooks` queue, so that a slow or failing receiver never holds a slot a
 * transfer needs. Each attempt is recorded (activities/webhook-delivery.ts) and safe to repeat.
 */
export function createWebhookActivities(deps: { delivery: WebhookDelivery }): WebhookActivities {
  return {
    async attemptWebhookDelivery(input) {
      return deps.delivery.attempt(input);
    },
    async abandonWebhookDelivery(input) {
      return deps.delivery.abandon(input);
    },
  };
}
