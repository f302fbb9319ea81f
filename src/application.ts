import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { createApp } from './api/app';
import { createDb, type Db } from './db/knex';
import { migrateLatest } from './db/migrator';
import type { Config, RateLimits, TrustProxy, WebhookSettings } from './config';
import { createServices, type ServiceOptions } from './services';
import { createHttpRail } from './rail/client';
import { observeHeldItems, startMetricsServer } from './observability/metrics';
import { temporalClientInterceptors } from './observability/tracing';
import type { PayoutTiming } from './transfers/workflow-gateway';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createActivityWorker, createWorker } from './temporal/worker';
import { createWebhookActivities } from '../activities/webhooks';
import { createWebhookDelivery } from './webhooks/delivery';
import { createDeliveryStarter, createWebhookDispatcher } from './webhooks/dispatcher';
import { DEFAULT_RETRY_SCHEDULE, retryDelaysSeconds } from './webhooks/retry-schedule';
import { webhookTaskQueue } from '../workflows/definitions';

export type ApplicationOptions = {
  databaseUrl: string;
  databasePoolMax?: number;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  logger: Logger;
  /** Apply pending migrations first (default). Deployments run `npm run migrate` once instead. */
  migrate?: boolean;
  /** Which parts to run in this process: `npm start` runs both; docker-compose one each. */
  runApi: boolean;
  runWorker: boolean;
  port?: number;
  transferSyncWaitMs: number;
  maxBodyBytes: number;
  /** Requests allowed per window, per key and per client address (src/api/rate-limits.ts). */
  rateLimits: RateLimits;
  /** Which proxies to believe about the client's address and scheme (default: none). */
  trustProxy?: TrustProxy;
  fx: ServiceOptions;
  /** How long a compliance hold waits for a decision (passed to each new workflow). */
  complianceHoldTtlSeconds: number;
  payoutTiming: PayoutTiming;
  rail: {
    url: string;
    callbackSecret: string;
    /** Where the rail reaches this API; defaults to the address it listens on. */
    publicApiUrl?: string;
    /** How far a callback's signed timestamp may be from now (default 300 s). */
    callbackToleranceSeconds?: number;
  };
  /** The Temporal Web UI's base URL: the compliance console links each case to its workflow there. */
  temporalUiUrl?: string;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Called when the worker stops on its own: the process should exit rather than accept work nothing runs. */
  onFatal?: (err: unknown) => void;
  /** Tests wrap the real activities (e.g. to simulate a crash after a commit). */
  wrapActivities?: (a: ReturnType<typeof createActivities>) => ReturnType<typeof createActivities>;
  /** Webhook delivery: timeout, retry schedule, dispatch interval, where URLs may point (defaults: DEFAULT_WEBHOOK_SETTINGS). */
  webhooks?: WebhookSettings;
  /** Where this process serves GET /metrics (port 0: any free one); unset, it serves none. Never on the API's port. */
  metrics?: { host: string; port: number };
};

const RECOVERY_INTERVAL_MS = 5_000;

/**
 * The options that come straight from configuration, shared by `npm start` and the per-role
 * entry points; each adds where Postgres, Temporal and the rail are and which roles to run.
 */
export function optionsFromConfig(config: Config) {
  return {
    databasePoolMax: config.databasePoolMax,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    port: config.port,
    transferSyncWaitMs: config.transferSyncWaitMs,
    maxBodyBytes: config.maxBodyBytes,
    rateLimits: config.rateLimits,
    trustProxy: config.trustProxy,
    fx: { fxRateMaxAgeMs: config.fxRateMaxAgeMs, fxQuoteTtlMs: config.fxQuoteTtlMs },
    complianceHoldTtlSeconds: config.complianceHoldTtlSeconds,
    payoutTiming: config.payoutTiming,
    temporalUiUrl: config.temporal.uiUrl,
    webhooks: config.webhooks,
    metrics: config.metrics.port === 0 ? undefined : { host: config.metrics.host, port: config.metrics.port },
  } satisfies Partial<ApplicationOptions>;
}

/** The defaults of the WEBHOOK_* settings (src/config.ts), outside production. */
export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = { timeoutMs: 10_000, retry: DEFAULT_RETRY_SCHEDULE, dispatchIntervalMs: 250, urlPolicy: { production: false } };

/** Runs a worker; returns its stop. A worker that stops on its own (not asked to) is fatal: nothing would run its tasks. */
function runUntilStopped(worker: Worker, opts: Pick<ApplicationOptions, 'logger' | 'onFatal'>): () => Promise<void> {
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

export type Application = { db: Db; url: string | undefined; metricsUrl?: string; stop: () => Promise<void> };

/**
 * Wires the service together over a database URL and a Temporal address: migrates, then runs
 * the worker and/or the HTTP API. Used by `npm start`, the per-role entry points and the tests.
 */
export async function startApplication(opts: ApplicationOptions): Promise<Application> {
  const db = createDb(opts.databaseUrl, opts.databasePoolMax);
  const webhooks = opts.webhooks ?? DEFAULT_WEBHOOK_SETTINGS;
  const services = createServices(db, opts.fx);
  const stops: Array<() => Promise<void>> = [() => db.destroy()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => opts.logger.error({ err }, 'error during shutdown'));
  };

  let url: string | undefined;
  let metricsUrl: string | undefined;
  try {
    if (opts.migrate !== false) await migrateLatest(db);
    if (opts.metrics) {
      const metrics = await startMetricsServer({ ...opts.metrics, logger: opts.logger });
      stops.push(metrics.stop);
      metricsUrl = metrics.url;
    }
    // One client connection for this process: the API's, the search-attribute check's and the webhook dispatcher's.
    const clientConnection = await Connection.connect({ address: opts.temporalAddress });
    stops.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, namespace: opts.namespace, interceptors: temporalClientInterceptors() });
    const startDelivery = createDeliveryStarter({ temporal: client, taskQueue: opts.taskQueue, retryDelaysSeconds: retryDelaysSeconds(webhooks.retry) });

    if (opts.runWorker) {
      await ensureSearchAttributes(clientConnection, opts.namespace);
      const connection = await NativeConnection.connect({ address: opts.temporalAddress });
      stops.push(() => connection.close());
      const activities = createActivities({
        rail: createHttpRail(opts.rail.url),
        railCallbackUrl: () => `${opts.rail.publicApiUrl ?? url ?? 'http://127.0.0.1'}/rail/events`,
        db,
        ledger: services.ledger,
        transfers: services.transferRepository,
        pricing: services.pricing,
        compliance: services.compliance,
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
      stops.push(() => delivery.close());
      const webhookWorker = await createActivityWorker({ connection, namespace: opts.namespace, taskQueue: webhookTaskQueue(opts.taskQueue), activities: createWebhookActivities({ delivery }) });
      stops.push(runUntilStopped(webhookWorker, opts));
      const dispatcher = createWebhookDispatcher({ db, start: startDelivery, logger: opts.logger, intervalMs: webhooks.dispatchIntervalMs });
      stops.push(dispatcher.start());
    }

    if (opts.runApi) {
      const { app, recovery } = createApp({
        services,
        temporal: client,
        taskQueue: opts.taskQueue,
        logger: opts.logger,
        transferSyncWaitMs: opts.transferSyncWaitMs,
        maxBodyBytes: opts.maxBodyBytes,
        rateLimits: opts.rateLimits,
        trustProxy: opts.trustProxy ?? false,
        complianceHoldTtlSeconds: opts.complianceHoldTtlSeconds,
        payoutTiming: opts.payoutTiming,
        railCallbackSecret: opts.rail.callbackSecret,
        railCallbackToleranceSeconds: opts.rail.callbackToleranceSeconds,
        temporalUiUrl: opts.temporalUiUrl,
        webhooks: { urlPolicy: webhooks.urlPolicy, startDelivery },
      });
      stops.push(recovery.start(RECOVERY_INTERVAL_MS));
      const unobserve = observeHeldItems(db, opts.logger);
      stops.push(async () => unobserve());
      const server: Server = await new Promise((resolve, reject) => {
        const s = app.listen(opts.port ?? 0, '0.0.0.0', () => resolve(s));
        s.once('error', reject);
      });
      const address = server.address();
      url = `http://localhost:${typeof address === 'object' && address ? address.port : opts.port}`;
      stops.push(
        () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
      );
    }
    return { db, url, metricsUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
