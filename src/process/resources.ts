/**
 * What every process role opens first, whichever roles the process runs (the API, the worker, or
 * both under `npm start`): the database pool and the domain services over it, the migrations, the
 * metrics server, and one Temporal client connection. Each is closed, last opened first, by `stops`.
 */
import { Client, Connection } from '@temporalio/client';
import type { Logger } from 'pino';
import { createDb, type Db } from '../db/knex';
import { migrateLatest } from '../db/migrator';
import { startMetricsServer } from '../observability/metrics';
import { temporalClientInterceptors } from '../observability/tracing';
import { createServices, type Services } from '../services';
import { createDeliveryStarter, type DeliveryStarter } from '../webhooks/dispatcher';
import { retryDelaysSeconds } from '../webhooks/retry-schedule';
import { DEFAULT_WEBHOOK_SETTINGS, type SharedOptions } from './options';

/** Stop steps, run in reverse order of registration; a failing one is logged and the others still run. */
export type Stops = { push: (stop: () => Promise<void>) => void; stopAll: () => Promise<void> };

export function createStops(logger: Logger): Stops {
  const steps: Array<() => Promise<void>> = [];
  return {
    push: (stop) => void steps.push(stop),
    stopAll: async () => {
      for (const stop of steps.splice(0).reverse()) await stop().catch((err) => logger.error({ err }, 'error during shutdown'));
    },
  };
}

export type SharedResources = {
  db: Db;
  services: Services;
  /** One client connection for this process: the API's, the search-attribute check's and the webhook dispatcher's. */
  clientConnection: Connection;
  client: Client;
  /** Starts a webhook delivery workflow: the dispatcher's and the API's redeliveries. */
  startDelivery: DeliveryStarter;
  metricsUrl: string | undefined;
};

export async function openSharedResources(opts: SharedOptions, stops: Stops): Promise<SharedResources> {
  const db = createDb(opts.databaseUrl, opts.databasePoolMax);
  stops.push(() => db.destroy());
  if (opts.migrate !== false) await migrateLatest(db);
  let metricsUrl: string | undefined;
  if (opts.metrics) {
    const metrics = await startMetricsServer({ ...opts.metrics, logger: opts.logger });
    stops.push(metrics.stop);
    metricsUrl = metrics.url;
  }
  const clientConnection = await Connection.connect({ address: opts.temporalAddress });
  stops.push(() => clientConnection.close());
  const client = new Client({ connection: clientConnection, namespace: opts.namespace, interceptors: temporalClientInterceptors() });
  const webhooks = opts.webhooks ?? DEFAULT_WEBHOOK_SETTINGS;
  const startDelivery = createDeliveryStarter({ temporal: client, taskQueue: opts.taskQueue, retryDelaysSeconds: retryDelaysSeconds(webhooks.retry) });
  return { db, services: createServices(db, opts.fx), clientConnection, client, startDelivery, metricsUrl };
}
