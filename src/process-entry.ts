import { optionsFromConfig, startApplication } from './application';
import { createAuthService } from './auth/service';
import { loadConfig } from './config';
import { createLogger } from './logger';
import { installTemporalRuntime, temporalMetricsOf } from './temporal/runtime';
import { tracingActive } from './observability/tracing';

/**
 * Runs one role (API or worker) against an existing Postgres and Temporal: the shape of a
 * deployment (docker-compose), where each role is its own process and nothing is embedded.
 */
export async function runRole(role: 'api' | 'worker'): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, `payments-${role}`, config.logFormat);
  if (!config.databaseUrl || !config.temporal.address || !config.rail.url || !config.rail.callbackSecret) {
    throw new Error(`npm run ${role} needs DATABASE_URL, TEMPORAL_ADDRESS, RAIL_URL and RAIL_CALLBACK_SECRET (npm start runs everything locally instead)`);
  }
  // The SDK's worker metrics only where a worker runs: the API's client connection reports none.
  installTemporalRuntime(logger, 'WARN', role === 'worker' ? temporalMetricsOf(config) : undefined);
  const app = await startApplication({
    ...optionsFromConfig(config),
    migrate: false,
    databaseUrl: config.databaseUrl,
    temporalAddress: config.temporal.address,
    logger,
    runApi: role === 'api',
    runWorker: role === 'worker',
    rail: {
      url: config.rail.url,
      callbackSecret: config.rail.callbackSecret,
      publicApiUrl: config.rail.publicApiUrl,
      callbackToleranceSeconds: config.rail.callbackToleranceSeconds,
    },
    onFatal: () => process.exit(1),
    // The image's worker loads the bundle built at image build time (npm run build); unset, workflows/ is bundled at start.
    // With tracing on it is bundled at start too, with the tracing workflow interceptors (the pre-built bundle has none).
    workflowBundle: process.env.WORKFLOW_BUNDLE_PATH && !tracingActive() ? { codePath: process.env.WORKFLOW_BUNDLE_PATH } : undefined,
  });
  if (role === 'api' && config.adminApiKey) await createAuthService({ db: app.db }).ensureAdminKey(config.adminApiKey);
  logger.info({ url: app.url, metrics: app.metricsUrl }, `${role} started`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void app.stop().then(() => process.exit(0));
    });
  }
}
