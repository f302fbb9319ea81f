/**
 * Both roles in one process, over one database pool and one Temporal client: what `npm start`
 * runs (stack/main.ts), and what the test suite starts in its own process.
 */
import type { Db } from '../src/db/knex';
import { startApi } from '../src/api/server';
import type { ApiOptions, SharedOptions, WorkerRoleOptions } from '../src/process/options';
import { createStops, openSharedResources } from '../src/process/resources';
import { startWorker } from '../worker';

export type ApplicationOptions = SharedOptions &
  ApiOptions &
  WorkerRoleOptions & {
    /** Which parts to run in this process: `npm start` runs both; a test may run one. */
    runApi: boolean;
    runWorker: boolean;
  };

export type Application = { db: Db; url: string | undefined; metricsUrl?: string; stop: () => Promise<void> };

/**
 * Wires the service together over a database URL and a Temporal address: migrates, then runs
 * the worker and/or the HTTP API.
 */
export async function startApplication(opts: ApplicationOptions): Promise<Application> {
  const stops = createStops(opts.logger);
  let url: string | undefined;
  try {
    const shared = await openSharedResources(opts, stops);
    if (opts.runWorker) await startWorker(shared, opts, stops, () => url);
    if (opts.runApi) url = await startApi(shared, opts, stops);
    return { db: shared.db, url, metricsUrl: shared.metricsUrl, stop: stops.stopAll };
  } catch (err) {
    await stops.stopAll();
    throw err;
  }
}
