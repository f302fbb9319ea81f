import { Router } from 'express';
import { z } from 'zod';
import { canSeeCustomer, principalOf, requireRole } from '../auth/middleware';
import type { Principal } from '../auth/service';
import { CustomerRefusal } from '../customers/refusals';
import type { CustomerService } from '../customers/service';
import { ApiError, HttpErrorCode } from '../http/errors';
import { body, errors, Id, json, LocationHeader, op, optionalBody, page, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { PageQuery, pageOf, resolveCursor } from '../http/pagination';
import { parseInput, pathId, SafeText, Uuid } from '../http/validation';
import { Refusal } from '../refusal';
import { presentEndpoint, type WebhookEndpointRow, type WebhookEndpointService } from './endpoints';
import { ALL_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type WebhookEventRow } from './events';
import { Transfer } from '../transfers/routes';
import { presentDelivery, presentEvent, type WebhookHistory } from './history';

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
const IdCursor = z.object({ id: Uuid });

/**
 * Webhook endpoints, the events they receive, and every delivery attempt. A client key manages its
 * own customer's; an admin any customer's. Another customer's endpoint or event is "not found".
 */
export function webhookRoutes(deps: { customers: CustomerService; endpoints: WebhookEndpointService; history: WebhookHistory }): Router {
  const { endpoints, history } = deps;
  const router = Router();
  const roles = requireRole('admin', 'client');

  /** The endpoint, if the caller may manage it. */
  async function endpointFor(principal: Principal, id: unknown): Promise<WebhookEndpointRow> {
    const row = await endpoints.get(pathId(id));
    if (!row || !canSeeCustomer(principal, row.customer_id)) throw ApiError.of(HttpErrorCode.NotFound, 'No webhook endpoint with this id.');
    return row;
  }

  router.post('/webhook-endpoints', roles, async (req, res) => {
    const principal = principalOf(req);
    const input = parseInput(CreateWebhookEndpoint, req.body);
    const customerId = principal.role === 'client' ? principal.customerId : input.customer_id;
    if (!customerId) throw ApiError.of(HttpErrorCode.MissingField, 'An admin key names the customer whose events the endpoint receives.', '#/customer_id');
    const ownCustomer = principal.role !== 'client' || !input.customer_id || input.customer_id === principal.customerId;
    if (!ownCustomer || !(await deps.customers.get(customerId))) throw new Refusal(CustomerRefusal.NotFound, 'No customer with this id.', '#/customer_id');
    const row = await endpoints.create({ customerId, url: input.url, eventTypes: input.event_types, description: input.description, createdByKeyId: principal.keyId });
    // The secret is shown this once: the receiver verifies every delivery with it.
    res.status(201).location(`/v1/webhook-endpoints/${row.id}`).json({ ...presentEndpoint(row), secret: row.secret });
  });

  router.get('/webhook-endpoints', roles, async (req, res) => {
    const principal = principalOf(req);
    const query = parseInput(ListWebhookEndpoints, req.query);
    const after = await resolveCursor(query.cursor, IdCursor, async (key) => {
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
    const endpoint = await endpointFor(principalOf(req), req.params.id);
    const query = parseInput(ListWebhookDeliveries, req.query);
    const after = await resolveCursor(query.cursor, IdCursor, (key) => history.isDeliveryOf(endpoint.id, key.id));
    res.json(pageOf(await history.deliveriesOf(endpoint.id, { limit: query.limit + 1, afterId: after?.id }), query.limit, presentDelivery));
  });

  router.get('/events', roles, async (req, res) => {
    const principal = principalOf(req);
    const query = parseInput(ListEvents, req.query);
    const after = await resolveCursor(query.cursor, IdCursor, async (key) => {
      const named = await history.event(key.id);
      return named && canSeeCustomer(principal, named.customer_id);
    });
    const viewerCustomerId = principal.role === 'client' ? principal.customerId : undefined;
    const rows = await history.events({ viewerCustomerId, customerId: query.customer_id, type: query.type, limit: query.limit + 1, afterId: after?.id });
    res.json(pageOf(rows, query.limit, presentEvent));
  });

  async function eventFor(principal: Principal, id: unknown): Promise<WebhookEventRow> {
    const row = await history.event(pathId(id));
    if (!row || !canSeeCustomer(principal, row.customer_id)) throw ApiError.of(HttpErrorCode.NotFound, 'No event with this id.');
    return row;
  }

  router.get('/events/:id', roles, async (req, res) => {
    res.json(presentEvent(await eventFor(principalOf(req), req.params.id)));
  });

  /** Sends an event again, as a new delivery with its own attempts and retries (see history.redeliver). */
  router.post('/events/:id/redeliver', roles, async (req, res) => {
    const event = await eventFor(principalOf(req), req.params.id);
    const input = parseInput(RedeliverEvent, req.body ?? {});
    const deliveries = await history.redeliver(event, input.endpoint_id);
    if (!deliveries) throw ApiError.of(HttpErrorCode.NotFound, "No webhook endpoint with this id for the event's customer.", '#/endpoint_id');
    res.status(202).json({ event_id: event.id, deliveries });
  });

  return router;
}

export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES).meta({
  id: 'WebhookEventType',
  description: 'One per status a transfer or payout can reach (`released`: leaving a hold): ' + WEBHOOK_EVENT_TYPES.map((t) => `\`${t}\``).join(', ') + '.',
});

export const WebhookEndpoint = z
  .object({
    id: Id,
    customer_id: Id.meta({ description: 'Whose events it receives' }),
    url: z.string().meta({ example: 'https://example.com/webhooks/payments' }),
    event_types: z.array(z.string()).meta({ description: `The event types it receives (WebhookEventType), or \`${ALL_EVENT_TYPES}\` for every type, including any added later`, example: ['transfer.completed'] }),
    description: z.string().nullable(),
    status: z.enum(['enabled', 'disabled']).meta({ description: 'Disabled after every attempt of a delivery failed (see disabled_reason); POST .../enable turns it back on' }),
    disabled_reason: z.string().nullable(),
    disabled_at: Timestamp.nullable(),
    failure_streak: z.number().int().meta({ description: 'Failed delivery attempts in a row' }),
    previous_secret_expires_at: Timestamp.nullable().meta({ description: 'After a rotation: until when the previous secret also signs deliveries' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'WebhookEndpoint', description: 'Where a customer receives its events: never its secret, which is shown only when made (create, rotate-secret).' });
type _WebhookEndpointDocumented = Assert<Documents<typeof WebhookEndpoint, ReturnType<typeof presentEndpoint>>>;

const WebhookSecret = z.string().meta({ description: 'The signing secret, `whsec_` + base64 (Standard Webhooks): shown this once', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
export const CreatedWebhookEndpoint = WebhookEndpoint.extend({ secret: WebhookSecret }).meta({ id: 'CreatedWebhookEndpoint', description: 'The endpoint, with its secret: shown this once.' });
type _CreatedWebhookEndpointDocumented = Assert<Documents<typeof CreatedWebhookEndpoint, ReturnType<typeof presentEndpoint> & { secret: string }>>;
export const DeletedWebhookEndpoint = WebhookEndpoint.extend({ deleted: z.literal(true) }).meta({ id: 'DeletedWebhookEndpoint' });
type _DeletedWebhookEndpointDocumented = Assert<Documents<typeof DeletedWebhookEndpoint, ReturnType<typeof presentEndpoint> & { deleted: true }>>;

export const WebhookEventPayload = z
  .object({
    id: Id.meta({ description: 'Sent as `webhook-id` on every attempt of every delivery of it' }),
    type: WebhookEventType,
    created_at: Timestamp,
    data: Transfer,
  })
  .meta({
    // No component of its own: the `event` webhook's body is written from these fields (webhookPaths).
    description: "The body POSTed to every endpoint subscribed to its type. `data` is the transfer or payout as the customer's client key saw it (GET /v1/transfers/{id}, /v1/payouts/{id}) when the event happened.",
  });
export const WebhookEvent = WebhookEventPayload.extend({
  customer_id: Id.meta({ description: 'Whose event it is' }),
  dispatched_at: Timestamp.nullable().meta({ description: 'When its deliveries were started; null until then' }),
}).meta({ id: 'WebhookEvent', description: 'An event as listed: the body endpoints receive, with its customer and when its deliveries started.' });
/** The payload is stored JSON (its `data` presented by the transfer presenter, which `Transfer` checks). */
type PresentedEvent = Omit<WebhookEventRow['payload'], 'data'> & { data: z.output<typeof Transfer> } & Pick<WebhookEventRow, 'customer_id' | 'dispatched_at'>;
type _WebhookEventDocumented = Assert<Documents<typeof WebhookEvent, PresentedEvent>>;

export const WebhookDelivery = z
  .object({
    id: Id,
    event_id: Id,
    event_type: WebhookEventType,
    endpoint_id: Id,
    attempt: z.number().int().meta({ description: 'Which attempt of its delivery (1 for the first)' }),
    outcome: z.enum(['succeeded', 'failed']).meta({ description: 'succeeded: the endpoint answered 2xx' }),
    response_status: z.number().int().nullable().meta({ description: "The endpoint's HTTP status; null when it did not answer" }),
    duration_ms: z.number().int(),
    error: z.string().nullable().meta({ description: 'Why it failed (a non-2xx answer, a timeout, a refused address...)' }),
    next_attempt_at: Timestamp.nullable().meta({ description: 'When the next attempt is due if this one failed; null when it succeeded or was the last' }),
    created_at: Timestamp,
  })
  .meta({ id: 'WebhookDelivery', description: 'One delivery attempt of one event to one endpoint.' });
type _WebhookDeliveryDocumented = Assert<Documents<typeof WebhookDelivery, ReturnType<typeof presentDelivery>>>;

export const Redelivery = z
  .object({
    event_id: Id,
    deliveries: z.array(z.object({ endpoint_id: Id, workflow_id: z.string().meta({ description: 'The delivery workflow, with its own attempts and retries' }) })),
  })
  .meta({ id: 'WebhookRedelivery' });

export const webhookEndpointPaths: OpenApiPaths = {
  '/v1/webhook-endpoints': {
    post: op('Webhooks', 'createWebhookEndpoint', 'Create a webhook endpoint', {
      description:
        `${roles('admin', 'client')} Where the customer's events are POSTed (see the \`event\` webhook). A client key's endpoint receives its own customer's events; an admin key names \`customer_id\`. ` +
        'Without `event_types` (or with `*`) it receives every type. Returns the signing secret once. The URL must be https to a public address in production (422 `invalid_webhook_url`).',
      requestBody: body(CreateWebhookEndpoint),
      responses: { '201': json('The endpoint, with its secret', CreatedWebhookEndpoint, LocationHeader), ...errors(...V1, ...BODY, 403) },
    }),
    get: op('Webhooks', 'listWebhookEndpoints', 'List webhook endpoints', {
      description: `${roles('admin', 'client')} Newest first. A client key sees its own customer's.`,
      requestParams: { query: ListWebhookEndpoints },
      responses: { '200': json('A page of endpoints', page(WebhookEndpoint)), ...errors(...V1, 403, 422) },
    }),
  },
  '/v1/webhook-endpoints/{id}': {
    get: op('Webhooks', 'getWebhookEndpoint', 'Get a webhook endpoint', {
      description: roles('admin', 'client'),
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The endpoint', WebhookEndpoint), ...errors(...V1, 403, 404) },
    }),
    delete: op('Webhooks', 'deleteWebhookEndpoint', 'Delete a webhook endpoint', {
      description: `${roles('admin', 'client')} It receives nothing more; deliveries in progress stop at their next attempt.`,
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The deleted endpoint', DeletedWebhookEndpoint), ...errors(...V1, 403, 404) },
    }),
  },
  '/v1/webhook-endpoints/{id}/rotate-secret': {
    post: op('Webhooks', 'rotateWebhookSecret', "Rotate a webhook endpoint's secret", {
      description: `${roles('admin', 'client')} Returns the new secret once. The old one keeps signing beside it (a second signature in \`webhook-signature\`) for \`grace_period_seconds\` (default a day, at most a week; 0: not at all).`,
      requestParams: { path: pathIds('id') },
      requestBody: optionalBody(RotateWebhookSecret),
      responses: { '200': json('The endpoint, with its new secret', CreatedWebhookEndpoint), ...errors(...V1, ...BODY, 403, 404) },
    }),
  },
  '/v1/webhook-endpoints/{id}/enable': {
    post: op('Webhooks', 'enableWebhookEndpoint', 'Enable a disabled webhook endpoint', {
      description: `${roles('admin', 'client')} An endpoint is disabled when every attempt of a delivery failed for the retry window. Enabled, it receives new events again (its failure streak reset); missed ones can be redelivered.`,
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The endpoint', WebhookEndpoint), ...errors(...V1, 403, 404) },
    }),
  },
  '/v1/webhook-endpoints/{id}/deliveries': {
    get: op('Webhooks', 'listWebhookDeliveries', "List a webhook endpoint's delivery attempts", {
      description: `${roles('admin', 'client')} Every attempt, whatever happened, newest first.`,
      requestParams: { path: pathIds('id'), query: ListWebhookDeliveries },
      responses: { '200': json('A page of delivery attempts', page(WebhookDelivery)), ...errors(...V1, 403, 404, 422) },
    }),
  },
};

export const webhookEventPaths: OpenApiPaths = {
  '/v1/events': {
    get: op('Webhooks', 'listEvents', 'List events', {
      description: `${roles('admin', 'client')} Newest first. A client key sees its own customer's.`,
      requestParams: { query: ListEvents },
      responses: { '200': json('A page of events', page(WebhookEvent)), ...errors(...V1, 403, 422) },
    }),
  },
  '/v1/events/{id}': {
    get: op('Webhooks', 'getEvent', 'Get an event', {
      description: roles('admin', 'client'),
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The event', WebhookEvent), ...errors(...V1, 403, 404) },
    }),
  },
  '/v1/events/{id}/redeliver': {
    post: op('Webhooks', 'redeliverEvent', 'Redeliver an event', {
      description:
        `${roles('admin', 'client')} Sends the event again as a new delivery, with its own attempts and retries: to \`endpoint_id\` (an endpoint of the event's customer, enabled: 409 \`webhook_endpoint_disabled\` otherwise, ` +
        "whatever types it subscribes to), or to every enabled endpoint subscribed to its type now (409 `no_webhook_endpoint` when there is none). The body and `webhook-id` are the event's own, so a receiver that already has it can tell.",
      requestParams: { path: pathIds('id') },
      requestBody: optionalBody(RedeliverEvent),
      responses: { '202': json('The deliveries started', Redelivery), ...errors(...V1, ...BODY, 403, 404, 409) },
    }),
  },
};

/**
 * What this service sends (OpenAPI 3.1 `webhooks`): every event, POSTed to each enabled endpoint
 * subscribed to its type, signed as Standard Webhooks (https://www.standardwebhooks.com) sign them:
 * activities/webhooks.ts and src/webhooks/endpoints.ts.
 */
const WebhookDeliveryHeaders = z.object({
  'webhook-id': Id.meta({ description: 'The event id: the same on every attempt and redelivery, so a receiver can deduplicate by it' }),
  'webhook-timestamp': z.string().regex(/^\d+$/).meta({ description: 'When this attempt was sent, unix seconds (signed: refuse it when too far from now)', example: '1767225600' }),
  'webhook-signature': z.string().meta({
    description:
      '`v1,<base64 HMAC-SHA256("<webhook-id>.<webhook-timestamp>.<raw body>")>`, keyed with the base64-decoded part of the endpoint\'s secret after `whsec_`. ' +
      "During a rotation's grace period, two space-separated signatures (the new secret's and the previous one's): accept the message when any verifies.",
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  }),
});
/**
 * The body, written over the response components: as a zod schema it would be rendered as a request
 * body (which a webhook is), adding input variants of Transfer and Entry that the responses would then
 * have to tell apart. Its fields are WebhookEventPayload's, checked at compile time.
 */
const schemaRef = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const WebhookEventBody = {
  type: 'object' as const,
  description: WebhookEventPayload.description,
  properties: {
    id: { type: 'string' as const, format: 'uuid', description: 'The event id, also sent as `webhook-id`' },
    type: schemaRef('WebhookEventType'),
    created_at: { type: 'string' as const, format: 'date-time', description: 'ISO 8601 instant' },
    data: schemaRef('Transfer'),
  } satisfies Record<keyof typeof WebhookEventPayload.shape, object>,
  required: Object.keys(WebhookEventPayload.shape),
};

/** The `event` webhook: what an endpoint receives. */
export const webhookCallbacks: OpenApiPaths = {
  event: {
    post: op('Webhooks', 'webhookEvent', 'An event, POSTed to your endpoint', {
      description:
        `Sent by this service to each enabled endpoint (POST /v1/webhook-endpoints) subscribed to the event's type: ${WEBHOOK_EVENT_TYPES.map((t) => `\`${t}\``).join(', ')} (\`*\`: all). ` +
        'Verify `webhook-signature` over the raw body before trusting it (any Standard Webhooks library does). No redirects are followed. ' +
        'A failed attempt (not 2xx, no answer within WEBHOOK_TIMEOUT_SECONDS) is retried with backoff (by default after 30 s, doubling up to every 4 h, for 3 days); ' +
        'when every attempt of a delivery failed, the endpoint is disabled. Every attempt is listed by GET /v1/webhook-endpoints/{id}/deliveries.',
      security: [],
      requestParams: { header: WebhookDeliveryHeaders },
      requestBody: { required: true, content: { 'application/json': { schema: WebhookEventBody } } },
      responses: {
        '2XX': { description: 'Received: the delivery succeeded (the answer body is not read)' },
        default: { description: 'Anything else: the attempt failed and is retried' },
      },
    }),
  },
};
