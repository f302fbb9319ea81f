/**
 * Webhook endpoints: where a customer wants its events, which types, and the secret each delivery
 * is signed with (Standard Webhooks, https://www.standardwebhooks.com: HMAC-SHA256 over
 * `<webhook-id>.<webhook-timestamp>.<body>` with the base64 secret after `whsec_`). The secret is
 * shown once, when it is made; a rotation keeps the old one signing beside the new one for a grace
 * period, so receivers can switch without missing a delivery.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Db } from '../db/knex';
import { Refusal } from '../refusal';
import { ALL_EVENT_TYPES } from './events';
import { WebhookRefusal } from './refusals';
import { checkWebhookUrl, type UrlPolicy } from './url-policy';

export type WebhookEndpointRow = {
  id: string;
  customer_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  disabled_at: Date | null;
  failure_streak: number;
  created_by_key_id: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
};

/** 24 random bytes, as Standard Webhooks libraries expect them: `whsec_` + base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * The `webhook-signature` header: `v1,<base64 HMAC>` with the current secret, and during a
 * rotation's grace period a second one with the previous secret, space-separated (receivers accept
 * the message when any signature verifies).
 */
export function signatureHeader(endpoint: Pick<WebhookEndpointRow, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>, msgId: string, at: Date, body: string): string {
  const secrets = [endpoint.secret];
  if (endpoint.previous_secret && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at.getTime() > at.getTime()) secrets.push(endpoint.previous_secret);
  return secrets.map((secret) => new Webhook(secret).sign(msgId, at, body)).join(' ');
}

export type EndpointListFilter = { customerId?: string; limit: number; /** The cursor's endpoint: the page starts after it. */ afterId?: string };

export function createWebhookEndpointService(deps: { db: Db; urlPolicy: UrlPolicy }) {
  const { db } = deps;
  const live = () => db('webhook_endpoints').whereNull('deleted_at');

  /** A new endpoint with its secret; a URL the policy refuses is refused. No event types, or `*`: every type. */
  async function create(input: { customerId: string; url: string; eventTypes?: string[]; description?: string; createdByKeyId: string }): Promise<WebhookEndpointRow> {
    const verdict = checkWebhookUrl(input.url, deps.urlPolicy);
    if (!verdict.ok) throw new Refusal(WebhookRefusal.InvalidUrl, `The webhook URL ${verdict.reason}.`, '#/url');
    const eventTypes = !input.eventTypes || input.eventTypes.includes(ALL_EVENT_TYPES) ? [ALL_EVENT_TYPES] : [...new Set(input.eventTypes)];
    const [row] = await db('webhook_endpoints')
      .insert({
        id: randomUUID(),
        customer_id: input.customerId,
        url: verdict.url.toString(),
        event_types: eventTypes,
        description: input.description ?? null,
        secret: newWebhookSecret(),
        created_by_key_id: input.createdByKeyId,
      })
      .returning<WebhookEndpointRow[]>('*');
    return row as WebhookEndpointRow;
  }

  const get = (id: string) => live().where({ id }).first<WebhookEndpointRow | undefined>();

  async function list(filter: EndpointListFilter): Promise<WebhookEndpointRow[]> {
    const q = live().orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(filter.limit);
    if (filter.customerId) q.where({ customer_id: filter.customerId });
    if (filter.afterId) q.whereRaw('(created_at, id) < (SELECT created_at, id FROM webhook_endpoints WHERE id = ?)', [filter.afterId]);
    return q;
  }

  /** Deleted endpoints get nothing more; deliveries in progress stop at their next attempt. Idempotent. */
  async function remove(id: string): Promise<WebhookEndpointRow | undefined> {
    const [row] = await db('webhook_endpoints').where({ id }).update({ deleted_at: db.raw('coalesce(deleted_at, now())'), updated_at: db.fn.now() }).returning<WebhookEndpointRow[]>('*');
    return row;
  }

  /** A new secret, returned once; the old one keeps signing beside it for `graceSeconds` (0: not at all). */
  async function rotateSecret(id: string, graceSeconds: number): Promise<WebhookEndpointRow | undefined> {
    const [row] = await live()
      .where({ id })
      .update({
        previous_secret: db.raw('secret'),
        previous_secret_expires_at: db.raw(`now() + make_interval(secs => ?)`, [graceSeconds]),
        secret: newWebhookSecret(),
        updated_at: db.fn.now(),
      })
      .returning<WebhookEndpointRow[]>('*');
    return row;
  }

  /** A disabled endpoint back on: new events reach it again (missed ones can be redelivered). */
  async function enable(id: string): Promise<WebhookEndpointRow | undefined> {
    const [row] = await live()
      .where({ id })
      .update({ status: 'enabled', disabled_at: null, disabled_reason: null, failure_streak: 0, updated_at: db.fn.now() })
      .returning<WebhookEndpointRow[]>('*');
    return row;
  }

  return { create, get, list, remove, rotateSecret, enable };
}

export type WebhookEndpointService = ReturnType<typeof createWebhookEndpointService>;

/** An endpoint as the API shows it: never its secrets (the secret is shown once, by the call that makes it). */
export function presentEndpoint(row: WebhookEndpointRow) {
  return {
    id: row.id,
    customer_id: row.customer_id,
    url: row.url,
    event_types: row.event_types,
    description: row.description,
    status: row.status,
    disabled_reason: row.disabled_reason,
    disabled_at: row.disabled_at,
    failure_streak: row.failure_streak,
    previous_secret_expires_at: row.previous_secret_expires_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
