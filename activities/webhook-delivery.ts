/**
 * One delivery attempt of one event to one endpoint: the event's body POSTed with the Standard
 * Webhooks headers (`webhook-id` = the event id, the same on every attempt so receivers can
 * deduplicate; `webhook-timestamp`; `webhook-signature`), a timeout, no redirects, to an address
 * the URL policy allows (src/webhooks/url-policy.ts). Every attempt is recorded, whatever happened,
 * and the endpoint's failure streak follows it. Safe to run twice: an attempt already recorded
 * is returned as it was, not sent again.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Db } from '../src/db/knex';
import { webhookDeliveries } from '../src/observability/metrics';
import type { WebhookEventRow } from '../src/webhooks/events';
import { signatureHeader, type WebhookEndpointRow } from '../src/webhooks/endpoints';
import { checkWebhookUrl, vettedLookup, type UrlPolicy } from '../src/webhooks/url-policy';
import type { AttemptInput, AttemptResult } from '../workflows/contract';

/** Answers longer than this are not read further: only the status matters. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export function createWebhookDelivery(deps: { db: Db; timeoutMs: number; urlPolicy: UrlPolicy; userAgent?: string }) {
  const { db } = deps;
  const agent = new Agent({ connect: { lookup: vettedLookup(deps.urlPolicy), timeout: deps.timeoutMs }, headersTimeout: deps.timeoutMs, bodyTimeout: deps.timeoutMs });

  async function attempt(input: AttemptInput): Promise<AttemptResult> {
    const recorded = await db('webhook_deliveries').where({ workflow_id: input.workflowId, attempt: input.attempt }).first<{ outcome: 'succeeded' | 'failed'; response_status: number | null } | undefined>('outcome', 'response_status');
    if (recorded) return { outcome: recorded.outcome, responseStatus: recorded.response_status };
    const endpoint = await db('webhook_endpoints').where({ id: input.endpointId }).first<WebhookEndpointRow | undefined>();
    if (!endpoint || endpoint.deleted_at) return skipped('endpoint_deleted');
    if (endpoint.status === 'disabled') return skipped('endpoint_disabled');
    const event = await db('webhook_events').where({ id: input.eventId }).first<WebhookEventRow>();
    // Checked again, as registered URLs may predate the policy (http to localhost, then production).
    const verdict = checkWebhookUrl(endpoint.url, deps.urlPolicy);
    const body = JSON.stringify(event.payload);
    const sentAt = new Date();

    const started = performance.now();
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      if (!verdict.ok) throw Object.assign(new Error(`the URL is refused: it ${verdict.reason}`), { code: 'EADDRREFUSED' });
      // undici's request() does not follow redirects: a 3xx is a failed attempt, never a second hop.
      const res = await request(endpoint.url, {
        method: 'POST',
        dispatcher: agent,
        signal: AbortSignal.timeout(deps.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': deps.userAgent ?? 'payments-webhooks/1',
          'webhook-id': event.id,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signatureHeader(endpoint, event.id, sentAt, body),
        },
        body,
      });
      responseStatus = res.statusCode;
      await drain(res.body);
      if (responseStatus < 200 || responseStatus > 299) error = `answered ${responseStatus}`;
    } catch (err) {
      error = describe(err, deps.timeoutMs);
    }
    const durationMs = Math.round(performance.now() - started);
    const outcome = error === null ? 'succeeded' : 'failed';

    await db.transaction(async (trx) => {
      const inserted = await trx('webhook_deliveries')
        .insert({
          id: randomUUID(),
          event_id: event.id,
          endpoint_id: endpoint.id,
          workflow_id: input.workflowId,
          attempt: input.attempt,
          outcome,
          response_status: responseStatus,
          duration_ms: durationMs,
          error: error?.slice(0, 500) ?? null,
          next_attempt_at: outcome === 'failed' && input.nextAttemptInSeconds !== null ? trx.raw(`now() + make_interval(secs => ?)`, [input.nextAttemptInSeconds]) : null,
        })
        .onConflict(['workflow_id', 'attempt'])
        .ignore()
        .returning('id');
      if (inserted.length === 0) return;
      await trx('webhook_endpoints')
        .where({ id: endpoint.id })
        .update(
          outcome === 'succeeded'
            ? { failure_streak: 0, last_success_at: trx.fn.now(), updated_at: trx.fn.now() }
            : { failure_streak: trx.raw('failure_streak + 1'), updated_at: trx.fn.now() },
        );
    });
    webhookDeliveries.inc({ outcome });
    return { outcome, responseStatus };
  }

  /**
   * The delivery's retry window ran out with every attempt failed: the endpoint is disabled, unless
   * any delivery to it succeeded since this one's first attempt (the endpoint works; this event's
   * answer was the problem, and its attempts stay listed).
   */
  async function abandon(input: { endpointId: string; workflowId: string; attempts: number; windowSeconds: number }): Promise<{ disabled: boolean }> {
    webhookDeliveries.inc({ outcome: 'abandoned' });
    const firstAttempt = db('webhook_deliveries').where({ workflow_id: input.workflowId }).min('created_at');
    const disabled = await db('webhook_endpoints')
      .where({ id: input.endpointId, status: 'enabled' })
      .whereNull('deleted_at')
      .andWhere((q) => q.whereNull('last_success_at').orWhere('last_success_at', '<', firstAttempt))
      .update({
        status: 'disabled',
        disabled_at: db.fn.now(),
        disabled_reason: `no delivery succeeded for ${Math.round(input.windowSeconds)} s (${input.attempts} attempts of one event failed)`,
        updated_at: db.fn.now(),
      });
    return { disabled: disabled > 0 };
  }

  return { attempt, abandon, close: () => agent.close() };
}

export type WebhookDelivery = ReturnType<typeof createWebhookDelivery>;

function skipped(reason: 'endpoint_deleted' | 'endpoint_disabled'): AttemptResult {
  webhookDeliveries.inc({ outcome: 'skipped' });
  return { outcome: 'skipped', reason };
}

async function drain(body: AsyncIterable<Buffer> & { destroy?: () => void }): Promise<void> {
  let read = 0;
  for await (const chunk of body) {
    read += chunk.length;
    if (read > MAX_RESPONSE_BYTES) {
      body.destroy?.();
      return;
    }
  }
}

/** What went wrong, in words for the deliveries list. */
function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  if (e.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `no answer within ${timeoutMs / 1000} s`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'EADDRREFUSED') return e.message ?? 'address refused';
  return `${code ? `${code}: ` : ''}${e.message ?? String(err)}`;
}
