/**
 * Webhook events: what a transfer's or payout's status change tells its customers, recorded as an
 * outbox row in the same database transaction as the change itself, so that no event is lost
 * (the change committed) and none is invented (it did not). Deliveries start from these rows
 * (src/webhooks/dispatcher.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import { createCurrencyService } from '../currencies/service';
import type { TransferRow } from '../transfers/model';
import { createTransferPresenter } from '../transfers/presenter';
import type { StatusChange, StatusChangeListener } from '../transfers/repository';

/** Every event type, one per status a transfer or payout can reach (and `released`, leaving a hold). */
export const WEBHOOK_EVENT_TYPES = [
  'transfer.held',
  'transfer.released',
  'transfer.completed',
  'transfer.declined',
  'transfer.failed',
  'payout.held',
  'payout.released',
  'payout.sent',
  'payout.completed',
  'payout.declined',
  'payout.failed',
  'payout.returned',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** An endpoint subscribed to `*` receives every type, including any added later. */
export const ALL_EVENT_TYPES = '*';

export type WebhookEventRow = {
  id: string;
  customer_id: string;
  type: WebhookEventType;
  resource_type: 'transfer' | 'payout';
  resource_id: string;
  payload: WebhookEventPayload;
  created_at: Date;
  dispatched_at: Date | null;
};

/** The body every endpoint receives: the event, and the resource as this customer's `GET` returns it. */
export type WebhookEventPayload = { id: string; type: WebhookEventType; created_at: string; data: Record<string, unknown> };

/** The event a transfer or payout raises on reaching `status` (`released`: leaving a hold to be posted). */
export function eventTypeFor(kind: TransferRow['kind'], status: StatusChange): WebhookEventType | undefined {
  const type = `${kind}.${status}`;
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type) ? (type as WebhookEventType) : undefined;
}

/**
 * Records the event `row`'s new state raises, in `trx`: one per customer the movement concerns
 * (the source account's; for a transfer to another customer's account, that customer's too) that
 * has a webhook endpoint, each with the resource as that customer's client key sees it. A repeated step finds its event already
 * recorded (one per resource, type and customer) and adds nothing.
 */
export function createStatusEventRecorder() {
  return async function recordStatusEvent(trx: Db, row: TransferRow, type: WebhookEventType): Promise<void> {
    // Only customers with an endpoint (enabled or not, not deleted) get events: an endpoint receives
    // the events raised after it was registered, and a customer without one pays nothing for them.
    const accounts = (await trx('accounts as a')
      .whereIn('a.id', [row.source_account_id, row.destination_account_id])
      .whereExists((q) => q.select(trx.raw('1')).from('webhook_endpoints as w').whereRaw('w.customer_id = a.customer_id').whereNull('w.deleted_at'))
      .select('a.id', 'a.customer_id')) as Array<{ id: string; customer_id: string | null }>;
    const ownerOf = (accountId: string) => accounts.find((a) => a.id === accountId)?.customer_id ?? null;
    const customers = [...new Set([ownerOf(row.source_account_id), ...(row.kind === 'transfer' ? [ownerOf(row.destination_account_id)] : [])])].filter(
      (c): c is string => c !== null,
    );
    if (customers.length === 0) return;
    // Everything over the transaction: the entries this same step posted are not visible outside it
    // yet, and a step must never wait for a second pool connection while it holds one (a pool of one
    // would wait for ever), so not even the currencies come from the pool's cache.
    const presenter = createTransferPresenter({ db: trx, currencies: createCurrencyService({ db: trx }) });
    // The database's clock (the change's own updated_at, the transaction's now()), as endpoints' created_at is.
    const createdAt = new Date(row.updated_at);
    for (const customerId of customers) {
      const data = JSON.parse(JSON.stringify(await presenter.present(row, { role: 'client', customerId, keyId: 'webhook' }))) as Record<string, unknown>;
      const id = randomUUID();
      const payload: WebhookEventPayload = { id, type, created_at: createdAt.toISOString(), data };
      await trx('webhook_events')
        .insert({ id, customer_id: customerId, type, resource_type: row.kind, resource_id: row.id, payload, created_at: createdAt })
        .onConflict(['resource_id', 'type', 'customer_id'])
        .ignore();
    }
  };
}

export type StatusEventRecorder = ReturnType<typeof createStatusEventRecorder>;

/**
 * The transfer repository's listener that keeps the outbox: each status change that has an event
 * type records it, in the change's transaction, for the customers with a webhook endpoint. Whether
 * either account's customer has one is asked by the change's own RETURNING, so a transfer between
 * customers without endpoints costs nothing more.
 */
export function createWebhookStatusListener(): StatusChangeListener {
  const recordEvent = createStatusEventRecorder();
  return {
    interested: `exists (
      SELECT 1 FROM accounts a JOIN webhook_endpoints w ON w.customer_id = a.customer_id AND w.deleted_at IS NULL
      WHERE a.id IN (transfers.source_account_id, transfers.destination_account_id)
    )`,
    changed: async (trx, row, status) => {
      const type = eventTypeFor(row.kind, status);
      if (type) await recordEvent(trx, row, type);
    },
  };
}
