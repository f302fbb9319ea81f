/**
 * What happened to each event, as the API shows it: the events a customer's changes raised, every
 * delivery attempt to an endpoint, and redeliveries on request.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import { Refusal } from '../refusal';
import { webhookDeliveryWorkflowId } from '../../workflows/contract';
import { subscribedEndpoints, type DeliveryStarter } from './dispatcher';
import type { WebhookEndpointService } from './endpoints';
import type { WebhookEventRow, WebhookEventType } from './events';
import { WebhookRefusal } from './refusals';

export type DeliveryRow = {
  id: string;
  event_id: string;
  endpoint_id: string;
  workflow_id: string;
  attempt: number;
  outcome: 'succeeded' | 'failed';
  response_status: number | null;
  duration_ms: number;
  error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
};

export const presentDelivery = (d: DeliveryRow & { event_type: WebhookEventType }) => ({
  id: d.id,
  event_id: d.event_id,
  event_type: d.event_type,
  endpoint_id: d.endpoint_id,
  attempt: d.attempt,
  outcome: d.outcome,
  response_status: d.response_status,
  duration_ms: d.duration_ms,
  error: d.error,
  next_attempt_at: d.next_attempt_at,
  created_at: d.created_at,
});

export const presentEvent = (e: WebhookEventRow) => ({ ...e.payload, customer_id: e.customer_id, dispatched_at: e.dispatched_at });

type Page = { limit: number; afterId?: string };

export function createWebhookHistory(deps: { db: Db; endpoints: WebhookEndpointService; startDelivery: DeliveryStarter }) {
  const { db } = deps;

  /** An endpoint's delivery attempts, newest first, `limit` of them after the `afterId` one. */
  async function deliveriesOf(endpointId: string, page: Page): Promise<Array<DeliveryRow & { event_type: WebhookEventType }>> {
    const q = db('webhook_deliveries as d')
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .where('d.endpoint_id', endpointId)
      .orderBy([{ column: 'd.created_at', order: 'desc' }, { column: 'd.id', order: 'desc' }])
      .limit(page.limit)
      .select('d.*', 'e.type as event_type');
    if (page.afterId) q.whereRaw('(d.created_at, d.id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = ?)', [page.afterId]);
    return q;
  }

  /** Whether the delivery attempt is one of this endpoint's (what a list cursor names). */
  const isDeliveryOf = async (endpointId: string, deliveryId: string) => (await db('webhook_deliveries').where({ id: deliveryId, endpoint_id: endpointId }).first('id')) !== undefined;

  /** Events, newest first, of one customer (a client key's own) or all, of one type or all. */
  async function events(filter: Page & { customerId?: string; viewerCustomerId?: string | null; type?: WebhookEventType }): Promise<WebhookEventRow[]> {
    const q = db('webhook_events').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(filter.limit);
    if (filter.viewerCustomerId !== undefined) q.where({ customer_id: filter.viewerCustomerId });
    if (filter.customerId) q.where({ customer_id: filter.customerId });
    if (filter.type) q.where({ type: filter.type });
    if (filter.afterId) q.whereRaw('(created_at, id) < (SELECT created_at, id FROM webhook_events WHERE id = ?)', [filter.afterId]);
    return (await q) as WebhookEventRow[];
  }

  const event = (id: string) => db('webhook_events').where({ id }).first<WebhookEventRow | undefined>();

  /**
   * Sends an event again, as a new delivery with its own attempts and retries: to one endpoint of
   * the event's customer (enabled, whatever it subscribes to), or to every enabled endpoint
   * subscribed to its type now. The body and `webhook-id` are the event's own, so a receiver that
   * already has it can tell. Undefined when `endpointId` names no endpoint of the event's customer.
   */
  async function redeliver(e: WebhookEventRow, endpointId?: string): Promise<Array<{ endpoint_id: string; workflow_id: string }> | undefined> {
    let targets: string[];
    if (endpointId) {
      const endpoint = await deps.endpoints.get(endpointId);
      if (!endpoint || endpoint.customer_id !== e.customer_id) return undefined;
      if (endpoint.status === 'disabled') {
        throw new Refusal(WebhookRefusal.EndpointDisabled, `The endpoint is disabled (${endpoint.disabled_reason}): enable it first (POST /v1/webhook-endpoints/${endpoint.id}/enable).`, '#/endpoint_id');
      }
      targets = [endpoint.id];
    } else {
      targets = (await subscribedEndpoints(db, { ...e, created_at: new Date() })).map((x) => x.id);
      if (targets.length === 0) throw new Refusal(WebhookRefusal.NoEndpoint, 'No enabled endpoint of this customer receives this event type.');
    }
    const deliveries = [];
    for (const target of targets) {
      const workflowId = await deps.startDelivery(e.id, target, `${webhookDeliveryWorkflowId(e.id, target)}-redelivery-${randomUUID().slice(0, 8)}`);
      deliveries.push({ endpoint_id: target, workflow_id: workflowId });
    }
    return deliveries;
  }

  return { deliveriesOf, isDeliveryOf, events, event, redeliver };
}

export type WebhookHistory = ReturnType<typeof createWebhookHistory>;
