/**
 * One event's delivery to one endpoint: attempts with durable timers between them, backing off
 * exponentially for days (the schedule comes with the input, from configuration), until one
 * succeeds, the endpoint is disabled or deleted, or the window is over, when the endpoint is
 * disabled (unless another delivery to it succeeded meanwhile). Started by the outbox dispatcher
 * (src/webhooks/dispatcher.ts) or by a redelivery.
 */
import { isCancellation, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { WebhookActivities, WebhookDeliveryInput, WebhookDeliveryResult } from './contract';

/** The attempt is recorded whatever happened; an activity that itself fails (the worker died) counts as a failed attempt. */
const delivery = (taskQueue: string) =>
  proxyActivities<WebhookActivities>({
    taskQueue,
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 1 },
  });

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const { attemptWebhookDelivery, abandonWebhookDelivery } = delivery(input.activityTaskQueue);
  const { workflowId } = workflowInfo();
  for (let attempt = 1; ; attempt++) {
    const next = input.retryDelaysSeconds[attempt - 1];
    const result = await attemptWebhookDelivery({ eventId: input.eventId, endpointId: input.endpointId, workflowId, attempt, nextAttemptInSeconds: next ?? null }).catch(
      (err: unknown) => {
        // A cancelled delivery stops; any other failure of the activity itself is a failed attempt.
        if (isCancellation(err)) throw err;
        return { outcome: 'failed' as const, responseStatus: null };
      },
    );
    if (result.outcome === 'succeeded') return { outcome: 'delivered', attempts: attempt };
    if (result.outcome === 'skipped') return { outcome: 'skipped', attempts: attempt, reason: result.reason };
    if (next === undefined) {
      const windowSeconds = input.retryDelaysSeconds.reduce((sum, d) => sum + d, 0);
      const { disabled } = await abandonWebhookDelivery({ endpointId: input.endpointId, workflowId, attempts: attempt, windowSeconds }).catch((err: unknown) => {
        if (isCancellation(err)) throw err;
        return { disabled: false };
      });
      return { outcome: 'abandoned', attempts: attempt, endpointDisabled: disabled };
    }
    await sleep(next * 1000);
  }
}
