/**
 * `npm start`: everything on one machine. Postgres (DATABASE_URL or embedded, data in .data/),
 * Temporal (TEMPORAL_ADDRESS; or the CLI's dev server, state in .data/temporal.db, Web UI; or with
 * TEMPORAL_ENGINE=server the Temporal server itself, state in Postgres, and the Web UI server),
 * the worker and the API. Prints the URLs and an admin key; Ctrl-C stops it all.
 */
// First: the tracing instrumentations must be in place before express and pg are loaded.
import '../src/observability/tracing-bootstrap';
import fs from 'node:fs';
import type { Logger } from 'pino';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { optionsFromConfig } from '../src/process/options';
import { startApplication } from './application';
import { createAuthService } from '../src/auth/service';
import { loadConfig, type Config } from '../src/config';
import { createLogger } from '../src/logger';
import { TEMPORAL_ADDRESS_FILE } from './temporal/cli-wrapper';
import { installTemporalRuntime, temporalMetricsOf } from '../src/temporal/runtime';
import { startRailProcess } from './rail/process';
import { startSupervisedDatabase, startSupervisedTemporal } from './supervision/children';
import { claimDataDir, type DataDirClaim } from './supervision/leftovers';
import { explainStartUpFailure } from './supervision/start-up-failure';

const SHUTDOWN_DEADLINE_MS = 30_000;

/** The process's stop steps (run last first) and its shutdown: on SIGINT/SIGTERM, on a fatal failure, or on giving up a child. */
function createLifecycle(logger: Logger) {
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  let shutdownStarted = false;
  const shutdown = async (code: number) => {
    if (shutdownStarted) return;
    shutdownStarted = true;
    stopping = true;
    // A stop step that hangs must not keep the process alive for ever.
    setTimeout(() => process.exit(code || 1), SHUTDOWN_DEADLINE_MS).unref();
    for (const stop of stops.reverse()) await stop().catch((err) => logger.error({ err }, 'shutdown step failed'));
    process.exit(code);
  };
  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // A terminal's Ctrl-C reaches us twice (directly, and relayed by npm/tsx): only a later one forces.
      if (stopping && Date.now() - firstSignalAt > 2000) {
        logger.warn(`${signal} again: exiting now`);
        process.exit(130);
      }
      if (stopping) return;
      firstSignalAt = Date.now();
      logger.info(`${signal}: stopping (again to force)`);
      void shutdown(0);
    });
  }
  return { push: (stop: () => Promise<void>) => void stops.push(stop), shutdown, stopping: () => stopping };
}

type Lifecycle = ReturnType<typeof createLifecycle>;

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'payments', config.logFormat);
  installTemporalRuntime(logger, 'WARN', temporalMetricsOf(config));
  const lifecycle = createLifecycle(logger);
  try {
    process.stdout.write(banner(config, await startEverything(config, logger, lifecycle)));
  } catch (err) {
    logger.fatal({ err }, `start-up failed: ${explainStartUpFailure(err, config)}`);
    await lifecycle.shutdown(1);
  }
}

/** Postgres, Temporal and the rail (each unless configured to be elsewhere), then the service over them. */
async function startEverything(config: Config, logger: Logger, lifecycle: Lifecycle) {
  const supervision = { logger, onGiveUp: () => void lifecycle.shutdown(1), shuttingDown: lifecycle.stopping };
  fs.mkdirSync(config.dataDir, { recursive: true });
  const claim = await claimDataDir(config.dataDir, logger);
  lifecycle.push(async () => claim.release());

  const database = await startSupervisedDatabase(config, supervision);
  lifecycle.push(database.stop);
  const temporal = config.temporal.address
    ? { address: config.temporal.address, uiUrl: config.temporal.uiUrl }
    : await startSupervisedTemporal(config, supervision, claim, database.url, lifecycle.push);
  const uiUrl = config.temporal.uiUrl ?? temporal.uiUrl;
  // For `npm run temporal` (stack/temporal/cli-wrapper.ts): the project's CLI then talks to this server.
  const addressFile = path.join(config.dataDir, TEMPORAL_ADDRESS_FILE);
  fs.writeFileSync(addressFile, `${temporal.address}\n`);
  lifecycle.push(async () => fs.rmSync(addressFile, { force: true }));
  const railUrl = config.rail.url ?? (await startSimulatedRail(config, logger, claim, lifecycle));

  const app = await startApplication({
    ...optionsFromConfig(config),
    databaseUrl: database.url,
    temporalAddress: temporal.address,
    logger,
    runApi: true,
    runWorker: true,
    rail: { url: railUrl, callbackSecret: railSecret(config), publicApiUrl: config.rail.publicApiUrl },
    onFatal: () => void lifecycle.shutdown(1),
    temporalUiUrl: uiUrl,
  });
  lifecycle.push(app.stop);
  const admin = await adminKey(config);
  await createAuthService({ db: app.db }).ensureAdminKey(admin.secret);
  return { app, temporalAddress: temporal.address, uiUrl, railUrl, embeddedPostgres: database.embedded, admin };
}

/** The simulated bank, not restarted when it dies: it keeps its payments in memory, and a new one would not know them. */
async function startSimulatedRail(config: Config, logger: Logger, claim: DataDirClaim, lifecycle: Lifecycle): Promise<string> {
  const rail = await startRailProcess({
    callbackSecret: railSecret(config),
    log: (line) => logger.debug({ rail: line }),
    onSpawn: (pid) => claim.recordChild('rail', pid),
    onUnexpectedExit: (err) => {
      logger.fatal({ err }, 'the payout rail stopped');
      void lifecycle.shutdown(1);
    },
  });
  lifecycle.push(rail.stop);
  return rail.url;
}

/** What runs where, printed once everything has started. */
function banner(config: Config, running: Awaited<ReturnType<typeof startEverything>>): string {
  const { app, admin } = running;
  const temporalWorker = temporalMetricsOf(config) ? `, Temporal worker: http://${config.metrics.host}:${config.metrics.temporalPort}/metrics` : '';
  const lines = [
    '',
    'Payments service is running.',
    `  API:          ${app.url}/v1   (health: ${app.url}/health, readiness: ${app.url}/ready)`,
    `  Console:      ${app.url}/console   (compliance officers: sign in with a compliance key)`,
    `  Temporal UI:  ${running.uiUrl ?? '(external Temporal: see its UI)'}`,
    `  Temporal:     ${running.temporalAddress} (${engineLabel(config)}; namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
    `  Temporal CLI: npm run temporal -- workflow list   (the project's CLI, pointed at this server)`,
    `  Payout rail:  ${running.railUrl}${config.rail.url ? '' : ' (simulated bank, controls: PUT /controls/:account)'}`,
    `  Metrics:      ${app.metricsUrl ?? '(off: METRICS_PORT=0)'}${temporalWorker}`,
    `  Postgres:     ${running.embeddedPostgres ? 'embedded, data in ' + path.join(config.dataDir, 'postgres') : 'DATABASE_URL'}`,
    `  Admin key:    ${admin.shown}`,
    '',
    `  Try: curl -s ${app.url}/v1/customers -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" -d '{"name":"Ada","country":"GB"}'`,
    '  Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n') + '\n';
}

function engineLabel(config: Config): string {
  if (config.temporal.address) return 'TEMPORAL_ADDRESS';
  return config.temporal.engine === 'server' ? 'the Temporal server, state in PostgreSQL' : 'the CLI dev server, state in temporal.db';
}

/**
 * The admin key: ADMIN_API_KEY when given (never printed: whoever set it knows it); otherwise one
 * generated on first start into DATA_DIR (mode 0600) and printed that once; later starts say where it is.
 */
async function adminKey(config: Config): Promise<{ secret: string; shown: string }> {
  if (config.adminApiKey) return { secret: config.adminApiKey, shown: '(ADMIN_API_KEY, not printed)' };
  const file = path.join(config.dataDir, 'admin-api-key');
  const { secret, created } = persistentSecret(config.dataDir, 'admin-api-key', 'sk_admin_');
  return created
    ? { secret, shown: `${secret}   (generated now and shown once; kept in ${file}, mode 0600)` }
    : { secret, shown: `in ${file} (printed when it was generated): export ADMIN_KEY=$(cat ${file})` };
}

function railSecret(config: Config): string {
  return config.rail.callbackSecret ?? persistentSecret(config.dataDir, 'rail-callback-secret', 'rail_').secret;
}

function persistentSecret(dataDir: string, name: string, prefix: string): { secret: string; created: boolean } {
  const file = path.join(dataDir, name);
  if (fs.existsSync(file)) return { secret: fs.readFileSync(file, 'utf8').trim(), created: false };
  const secret = `${prefix}${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(file, secret + '\n', { mode: 0o600 });
  return { secret, created: true };
}

main().catch((err: unknown) => {
  // Before the logger exists (e.g. invalid configuration): one plain sentence on stderr.
  process.stderr.write(`start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
