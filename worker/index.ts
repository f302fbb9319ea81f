/**
 * The worker role's composition root: the activities built over the shared services, the Temporal
 * worker that runs them and the workflows (workflows/index.ts), the activity-only worker that makes
 * the webhook deliveries' HTTP calls, and the outbox relay that starts those deliveries. `npm start`
 * runs it beside the API; the image's `worker` process runs it alone (worker/main.ts). It lives
 * outside src/, so that nothing in src/ imports the activities or the workflows.
 */
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createWebhookActivities } from '../activities/webhooks';
import { webhookTaskQueue } from '../workflows/contract';
import type { SharedOptions, WorkerRoleOptions } from '../src/process/options';
import { DEFAULT_WEBHOOK_SETTINGS } from '../src/process/options';
import type { SharedResources, Stops } from '../src/process/resources';
import { createHttpRail } from '../src/rail/client';
import { ensureSearchAttributes } from '../src/temporal/search-attributes';
import { createWebhookDelivery } from '../activities/webhook-delivery';
import { createWebhookDispatcher } from '../src/webhooks/dispatcher';
import { createActivityWorker, createWorker } from './temporal-worker';

/**
 * Starts the workers and the dispatcher. `apiUrl` is the API's address when this process runs it
 * too: the rail's callbacks go there unless the rail options name a public URL.
 */
export async function startWorker(shared: SharedResources, opts: SharedOptions & WorkerRoleOptions, stops: Stops, apiUrl: () => string | undefined = () => undefined): Promise<void> {
  const { db, services } = shared;
  const webhooks = opts.webhooks ?? DEFAULT_WEBHOOK_SETTINGS;
  await ensureSearchAttributes(shared.clientConnection, opts.namespace);
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  stops.push(() => connection.close());
  const activities = createActivities({
    rail: createHttpRail(opts.rail.url),
    railCallbackUrl: () => `${opts.rail.publicApiUrl ?? apiUrl() ?? 'http://127.0.0.1'}/rail/events`,
    db,
    ledger: services.ledger,
    transfers: services.transferRepository,
    pricing: services.pricing,
    compliance: services.compliance,
    holds: services.holds,
  });
  const worker = await createWorker({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.wrapActivities ? opts.wrapActivities(activities) : activities,
    workflowBundle: opts.workflowBundle,
  });
  stops.push(runUntilStopped(worker, opts));

  // Webhooks: the HTTP calls on their own activity-only worker, and the outbox relay that starts the deliveries.
  const delivery = createWebhookDelivery({ db, timeoutMs: webhooks.timeoutMs, urlPolicy: webhooks.urlPolicy });
  stops.push(async () => delivery.close());
  const webhookWorker = await createActivityWorker({ connection, namespace: opts.namespace, taskQueue: webhookTaskQueue(opts.taskQueue), activities: createWebhookActivities({ delivery }) });
  stops.push(runUntilStopped(webhookWorker, opts));
  const dispatcher = createWebhookDispatcher({ db, start: shared.startDelivery, logger: opts.logger, intervalMs: webhooks.dispatchIntervalMs });
  stops.push(dispatcher.start());
}

/** Runs a worker; returns its stop. A worker that stops on its own (not asked to) is fatal: nothing would run its tasks. */
function runUntilStopped(worker: Worker, opts: { logger: Logger; onFatal?: (err: unknown) => void }): () => Promise<void> {
  let stopping = false;
  const running = worker.run();
  running.then(
    () => !stopping && opts.onFatal?.(new Error('worker stopped')),
    (err) => {
      opts.logger.fatal({ err }, 'worker stopped unexpectedly');
      opts.onFatal?.(err);
    },
  );
  return async () => {
    stopping = true;
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch(() => undefined);
  };
}
