/**
 * The API role's composition root: the Express app over the shared services and Temporal client,
 * the recovery sweep, the held-items gauges, and the HTTP server. `npm start` runs it beside the
 * worker; the image's `api` process runs it alone (src/api/main.ts).
 */
import type { Server } from 'node:http';
import { observeHeldItems } from '../observability/metrics';
import type { ApiOptions, SharedOptions } from '../process/options';
import { DEFAULT_WEBHOOK_SETTINGS } from '../process/options';
import type { SharedResources, Stops } from '../process/resources';
import { createApp } from './app';

const RECOVERY_INTERVAL_MS = 5_000;

/** Starts the API; returns the URL it listens on. */
export async function startApi(shared: SharedResources, opts: SharedOptions & ApiOptions, stops: Stops): Promise<string> {
  const webhooks = opts.webhooks ?? DEFAULT_WEBHOOK_SETTINGS;
  const { app, recovery } = createApp({
    services: shared.services,
    temporal: shared.client,
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
    webhooks: { urlPolicy: webhooks.urlPolicy, startDelivery: shared.startDelivery },
  });
  stops.push(recovery.start(RECOVERY_INTERVAL_MS));
  const unobserve = observeHeldItems(shared.db, opts.logger);
  stops.push(async () => unobserve());
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '0.0.0.0', () => resolve(s));
    s.once('error', reject);
  });
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  );
  const address = server.address();
  return `http://localhost:${typeof address === 'object' && address ? address.port : opts.port}`;
}
