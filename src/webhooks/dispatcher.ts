/**
 * The outbox relay: events recorded with their status changes (src/webhooks/events.ts) become
 * delivery workflows, one per event and subscribed endpoint. Runs in every worker process; each
 * pass takes a batch of undispatched events with FOR UPDATE SKIP LOCKED, so replicas share the work
 * without waiting on each other, starts the deliveries (a workflow id per event and endpoint, and
 * Temporal refuses a second run of one: a pass repeated after a crash starts nothing twice), and
 * marks the events dispatched in the same commit. An event whose deliveries cannot be started now
 * is left for the next pass without holding up the others. An endpoint receives the events raised
 * after it was registered.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { WEBHOOK_DELIVERY_WORKFLOW_TYPE, webhookDeliveryWorkflowId, webhookTaskQueue, type WebhookDeliveryInput } from '../../workflows/contract';
import { ALL_EVENT_TYPES, type WebhookEventRow } from './events';

const BATCH = 100;

export type DeliveryStarter = (eventId: string, endpointId: string, workflowId?: string) => Promise<string>;

/** Starts one delivery workflow (an already started one with the same id is left as it is). */
export function createDeliveryStarter(deps: { temporal: Client; taskQueue: string; retryDelaysSeconds: number[] }): DeliveryStarter {
  return async (eventId, endpointId, workflowId = webhookDeliveryWorkflowId(eventId, endpointId)) => {
    const input: WebhookDeliveryInput = { eventId, endpointId, retryDelaysSeconds: deps.retryDelaysSeconds, activityTaskQueue: webhookTaskQueue(deps.taskQueue) };
    try {
      // Rejected when a run with this id exists, running or closed: a delivery made is not made again.
      await deps.temporal.workflow.start(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { taskQueue: deps.taskQueue, workflowId, args: [input], workflowIdReusePolicy: 'REJECT_DUPLICATE' });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return workflowId;
  };
}

/** The endpoints an event goes to: its customer's, enabled, subscribed to its type, registered before it. */
export function subscribedEndpoints(db: Db, event: Pick<WebhookEventRow, 'customer_id' | 'type' | 'created_at'>) {
  return db('webhook_endpoints')
    .where({ customer_id: event.customer_id, status: 'enabled' })
    .whereNull('deleted_at')
    .andWhere('created_at', '<=', event.created_at)
    .andWhere((q) => q.whereRaw('? = ANY(event_types)', [event.type]).orWhereRaw('? = ANY(event_types)', [ALL_EVENT_TYPES]))
    .select<Array<{ id: string }>>('id');
}

export function createWebhookDispatcher(deps: { db: Db; start: DeliveryStarter; logger: Logger; intervalMs: number }) {
  const { db } = deps;

  /** One pass: how many events it dispatched. */
  async function dispatchOnce(): Promise<number> {
    return db.transaction(async (trx) => {
      const events = (await trx('webhook_events')
        .whereNull('dispatched_at')
        .orderBy('created_at')
        .limit(BATCH)
        .forUpdate()
        .skipLocked()
        .select('id', 'customer_id', 'type', 'created_at')) as Array<Pick<WebhookEventRow, 'id' | 'customer_id' | 'type' | 'created_at'>>;
      const dispatched: string[] = [];
      for (const event of events) {
        try {
          for (const endpoint of await subscribedEndpoints(trx, event)) await deps.start(event.id, endpoint.id);
          dispatched.push(event.id);
        } catch (err) {
          // Left undispatched for the next pass; the events after it go on now.
          deps.logger.warn({ err, eventId: event.id }, 'could not start a webhook delivery; retrying on the next pass');
        }
      }
      if (dispatched.length) await trx('webhook_events').whereIn('id', dispatched).update({ dispatched_at: trx.fn.now() });
      return events.length;
    });
  }

  /** Passes every `intervalMs` (at once again after a full batch) until stopped; a failed pass is logged and retried. */
  function start(): () => Promise<void> {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    const loop = () => {
      running = dispatchOnce().then(
        (n) => schedule(n === BATCH ? 0 : deps.intervalMs),
        (err: unknown) => {
          deps.logger.warn({ err }, 'webhook dispatch failed; retrying');
          schedule(Math.max(deps.intervalMs, 1000));
        },
      );
    };
    const schedule = (ms: number) => {
      if (!stopped) timer = setTimeout(loop, ms);
    };
    schedule(0);
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    };
  }

  return { dispatchOnce, start };
}
