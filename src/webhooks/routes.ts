import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { PageQuery, pageOf, resolveCursor } from '../api/pagination';
import { parseInput, pathId, SafeText, Uuid } from '../api/validation';
import { canSeeCustomer, principalOf, requireRole } from '../auth/middleware';
import type { Principal } from '../auth/service';
import type { CustomerService } from '../customers/service';
import type { Db } from '../db/knex';
import { webhookDeliveryWorkflowId } from '../../workflows/definitions';
import type { DeliveryStarter } from './dispatcher';
import { subscribedEndpoints } from './dispatcher';
import { presentEndpoint, type WebhookEndpointRow, type WebhookEndpointService } from './endpoints';
import { ALL_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type WebhookEventRow, type WebhookEventType } from './events';
import { checkWebhookUrl, type UrlPolicy } from './url-policy';

const EventType = z.enum([ALL_EVENT_TYPES, ...WEBHOOK_EVENT_TYPES]);
export const CreateWebhookEndpoint = z.strictObject({
  url: z.string().max(2048),
  event_types: z.array(EventType).min(1).max(WEBHOOK_EVENT_TYPES.length + 1).optional(),
  description: SafeText(500).optional(),
  /** Whose events: a client key's own customer; an admin names one. */
  customer_id: Uuid.optional(),
});
export const RotateWebhookSecret = z.strictObject({
  /** How long the old secret keeps signing beside the new one (default a day, at most a week; 0: not at all). */
  grace_period_seconds: z.number().int().min(0).max(7 * 24 * 3600).optional(),
});
export const ListWebhookEndpoints = z.strictObject({ ...PageQuery, customer_id: Uuid.optional() });
export const ListWebhookDeliveries = z.strictObject({ ...PageQuery });
export const ListEvents = z.strictObject({ ...PageQuery, customer_id: Uuid.optional(), type: z.enum(WEBHOOK_EVENT_TYPES).optional() });
export const RedeliverEvent = z.strictObject({ endpoint_id: Uuid.optional() });

const DEFAULT_GRACE_SECONDS = 24 * 3600;

type DeliveryRow = {
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

const presentEvent = (e: WebhookEventRow) => ({ ...e.payload, customer_id: e.customer_id, dispatched_at: e.dispatched_at });

/**
 * Webhook endpoints, the events they receive, and every delivery attempt. A client key manages its
 * own customer's; an admin any customer's. Another customer's endpoint or event is "not found".
 */
export function webhookRoutes(deps: { db: Db; customers: CustomerService; endpoints: WebhookEndpointService; urlPolicy: UrlPolicy; startDelivery: DeliveryStarter }): Router {
  const { db, endpoints } = deps;
  const router = Router();
  const roles = requireRole('admin', 'client');

  /** The endpoint, if the caller may manage it. */
  async function endpointFor(principal: Principal, id: unknown): Promise<WebhookEndpointRow> {
    const row = await endpoints.get(pathId(id));
    if (!row || !canSeeCustomer(principal, row.customer_id)) throw ApiError.of(ApiErrorCode.NotFound, 'No webhook endpoint with this id.');
    return row;
  }

  router.post('/webhook-endpoints', roles, async (req, res) => {
    const principal = principalOf(req);
    const input = parseInput(CreateWebhookEndpoint, req.body);
    const customerId = principal.role === 'client' ? principal.customerId : input.customer_id;
    if (!customerId) throw ApiError.of(ApiErrorCode.MissingField, 'An admin key names the customer whose events the endpoint receives.', '#/customer_id');
    if (principal.role === 'client' && input.customer_id && input.customer_id !== principal.customerId) {
      throw ApiError.of(ApiErrorCode.CustomerNotFound, 'No customer with this id.', '#/customer_id');
    }
    if (!(await deps.customers.get(customerId))) throw ApiError.of(ApiErrorCode.CustomerNotFound, 'No customer with this id.', '#/customer_id');
    const verdict = checkWebhookUrl(input.url, deps.urlPolicy);
    if (!verdict.ok) throw ApiError.of(ApiErrorCode.InvalidWebhookUrl, `The webhook URL ${verdict.reason}.`, '#/url');
    const eventTypes = input.event_types?.includes(ALL_EVENT_TYPES) || !input.event_types ? [ALL_EVENT_TYPES] : [...new Set(input.event_types)];
    const row = await endpoints.create({ customerId, url: verdict.url.toString(), eventTypes, description: input.description, createdByKeyId: principal.keyId });
    // The secret is shown this once: the receiver verifies every delivery with it.
    res.status(201).location(`/v1/webhook-endpoints/${row.id}`).json({ ...presentEndpoint(row), secret: row.secret });
  });

  router.get('/webhook-endpoints', roles, async (req, res) => {
    const principal = principalOf(req);
    const query = parseInput(ListWebhookEndpoints, req.query);
    const after = await resolveCursor(query.cursor, z.object({ id: Uuid }), async (key) => {
      const named = await endpoints.get(key.id);
      return named && canSeeCustomer(principal, named.customer_id);
    });
    // A client key lists its own customer's endpoints only: another customer's id finds none.
    if (principal.role === 'client' && query.customer_id && query.customer_id !== principal.customerId) return void res.json({ data: [], next_cursor: null });
    const rows = await endpoints.list({ customerId: principal.role === 'client' ? (principal.customerId as string) : query.customer_id, limit: query.limit + 1, afterId: after?.id });
    res.json(pageOf(rows, query.limit, presentEndpoint));
  });

  router.get('/webhook-endpoints/:id', roles, async (req, res) => {
    res.json(presentEndpoint(await endpointFor(principalOf(req), req.params.id)));
  });

  router.delete('/webhook-endpoints/:id', roles, async (req, res) => {
    const endpoint = await endpointFor(principalOf(req), req.params.id);
    const removed = (await endpoints.remove(endpoint.id)) as WebhookEndpointRow;
    res.json({ ...presentEndpoint(removed), deleted: true });
  });

  router.post('/webhook-endpoints/:id/rotate-secret', roles, async (req, res) => {
    const endpoint = await endpointFor(principalOf(req), req.params.id);
    const input = parseInput(RotateWebhookSecret, req.body ?? {});
    const rotated = (await endpoints.rotateSecret(endpoint.id, input.grace_period_seconds ?? DEFAULT_GRACE_SECONDS)) as WebhookEndpointRow;
    res.json({ ...presentEndpoint(rotated), secret: rotated.secret });
  });

  router.post('/webhook-endpoints/:id/enable', roles, async (req, res) => {
    const endpoint = await endpointFor(principalOf(req), req.params.id);
    res.json(presentEndpoint((await endpoints.enable(endpoint.id)) as WebhookEndpointRow));
  });

  router.get('/webhook-endpoints/:id/deliveries', roles, async (req, res) => {
    const principal = principalOf(req);
    const endpoint = await endpointFor(principal, req.params.id);
    const query = parseInput(ListWebhookDeliveries, req.query);
    const q = db('webhook_deliveries as d')
      .join('webhook_events as e', 'e.id', 'd.event_id')
      .where('d.endpoint_id', endpoint.id)
      .orderBy([{ column: 'd.created_at', order: 'desc' }, { column: 'd.id', order: 'desc' }])
      .limit(query.limit + 1)
      .select('d.*', 'e.type as event_type');
    const after = await resolveCursor(query.cursor, z.object({ id: Uuid }), (key) => db('webhook_deliveries').where({ id: key.id, endpoint_id: endpoint.id }).first('id'));
    if (after) q.whereRaw('(d.created_at, d.id) < (SELECT created_at, id FROM webhook_deliveries WHERE id = ?)', [after.id]);
    const rows = (await q) as Array<DeliveryRow & { event_type: WebhookEventType }>;
    res.json(pageOf(rows, query.limit, presentDelivery));
  });

  router.get('/events', roles, async (req, res) => {
    const principal = principalOf(req);
    const query = parseInput(ListEvents, req.query);
    const q = db('webhook_events').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(query.limit + 1);
    if (principal.role === 'client') q.where({ customer_id: principal.customerId });
    if (query.customer_id) q.where({ customer_id: query.customer_id });
    if (query.type) q.where({ type: query.type });
    const after = await resolveCursor(query.cursor, z.object({ id: Uuid }), async (key) => {
      const named = await db('webhook_events').where({ id: key.id }).first<Pick<WebhookEventRow, 'customer_id'> | undefined>('customer_id');
      return named && canSeeCustomer(principal, named.customer_id);
    });
    if (after) q.whereRaw('(created_at, id) < (SELECT created_at, id FROM webhook_events WHERE id = ?)', [after.id]);
    const rows = (await q) as WebhookEventRow[];
    res.json(pageOf(rows, query.limit, presentEvent));
  });

  async function eventFor(principal: Principal, id: unknown): Promise<WebhookEventRow> {
    const row = await db('webhook_events').where({ id: pathId(id) }).first<WebhookEventRow | undefined>();
    if (!row || !canSeeCustomer(principal, row.customer_id)) throw ApiError.of(ApiErrorCode.NotFound, 'No event with this id.');
    return row;
  }

  router.get('/events/:id', roles, async (req, res) => {
    res.json(presentEvent(await eventFor(principalOf(req), req.params.id)));
  });

  /**
   * Sends an event again, as a new delivery with its own attempts and retries: to one endpoint of
   * the event's customer (enabled, whatever it subscribes to), or to every enabled endpoint
   * subscribed to its type now. The body and `webhook-id` are the event's own, so a receiver that
   * already has it can tell.
   */
  router.post('/events/:id/redeliver', roles, async (req, res) => {
    const principal = principalOf(req);
    const event = await eventFor(principal, req.params.id);
    const input = parseInput(RedeliverEvent, req.body ?? {});
    let targets: string[];
    if (input.endpoint_id) {
      const endpoint = await endpoints.get(input.endpoint_id);
      if (!endpoint || endpoint.customer_id !== event.customer_id) throw ApiError.of(ApiErrorCode.NotFound, "No webhook endpoint with this id for the event's customer.", '#/endpoint_id');
      if (endpoint.status === 'disabled') throw ApiError.of(ApiErrorCode.WebhookEndpointDisabled, `The endpoint is disabled (${endpoint.disabled_reason}): enable it first (POST /v1/webhook-endpoints/${endpoint.id}/enable).`, '#/endpoint_id');
      targets = [endpoint.id];
    } else {
      targets = (await subscribedEndpoints(db, { ...event, created_at: new Date() })).map((e) => e.id);
      if (targets.length === 0) throw ApiError.of(ApiErrorCode.NoWebhookEndpoint, 'No enabled endpoint of this customer receives this event type.');
    }
    const deliveries = [];
    for (const endpointId of targets) {
      const workflowId = await deps.startDelivery(event.id, endpointId, `${webhookDeliveryWorkflowId(event.id, endpointId)}-redelivery-${randomUUID().slice(0, 8)}`);
      deliveries.push({ endpoint_id: endpointId, workflow_id: workflowId });
    }
    res.status(202).json({ event_id: event.id, deliveries });
  });

  return router;
}
