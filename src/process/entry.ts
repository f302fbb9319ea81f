/**
 * A process that runs one role (API or worker) against an existing Postgres and Temporal: the
 * shape of a deployment (docker-compose), where each role is its own process and nothing is embedded.
 */
import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config';
import { createLogger } from '../logger';
import { installTemporalRuntime, temporalMetricsOf } from '../temporal/runtime';
import { optionsFromConfig, type ApiOptions, type RailOptions, type SharedOptions } from './options';
import { createStops, type Stops } from './resources';

export type RoleStart = (opts: SharedOptions & ApiOptions & { rail: RailOptions }, stops: Stops, context: { config: Config; logger: Logger }) => Promise<Record<string, unknown>>;

export async function runRole(role: 'api' | 'worker', start: RoleStart): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, `payments-${role}`, config.logFormat);
  if (!config.databaseUrl || !config.temporal.address || !config.rail.url || !config.rail.callbackSecret) {
    throw new Error(`npm run ${role} needs DATABASE_URL, TEMPORAL_ADDRESS, RAIL_URL and RAIL_CALLBACK_SECRET (npm start runs everything locally instead)`);
  }
  // The SDK's worker metrics only where a worker runs: the API's client connection reports none.
  installTemporalRuntime(logger, 'WARN', role === 'worker' ? temporalMetricsOf(config) : undefined);
  const stops = createStops(logger);
  const options = {
    ...optionsFromConfig(config),
    migrate: false,
    databaseUrl: config.databaseUrl,
    temporalAddress: config.temporal.address,
    logger,
    rail: { url: config.rail.url, callbackSecret: config.rail.callbackSecret, publicApiUrl: config.rail.publicApiUrl, callbackToleranceSeconds: config.rail.callbackToleranceSeconds },
  };
  let started: Record<string, unknown>;
  try {
    started = await start(options, stops, { config, logger });
  } catch (err) {
    await stops.stopAll();
    throw err;
  }
  logger.info(started, `${role} started`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void stops.stopAll().then(() => process.exit(0));
    });
  }
}

/** An entry point's last resort: what failed, and a non-zero exit. */
export function exitOnFailure(err: unknown): never {
  console.error(err);
  process.exit(1);
}
