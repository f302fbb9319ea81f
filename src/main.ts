/**
 * `npm start`: everything on one machine. Postgres (DATABASE_URL or embedded, data in .data/),
 * Temporal (TEMPORAL_ADDRESS; or the CLI's dev server, state in .data/temporal.db, Web UI; or with
 * TEMPORAL_ENGINE=server the Temporal server itself, state in Postgres, and the Web UI server),
 * the worker and the API. Prints the URLs and an admin key; Ctrl-C stops it all.
 */
// First: the tracing instrumentations must be in place before express and pg are loaded.
import './observability/tracing-bootstrap';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { optionsFromConfig, startApplication } from './application';
import { createAuthService } from './auth/service';
import { loadConfig } from './config';
import { createLogger } from './logger';
import { TEMPORAL_ADDRESS_FILE } from './temporal/cli-wrapper';
import { installTemporalRuntime, temporalMetricsOf } from './temporal/runtime';
import { startRailProcess } from './rail/process';
import { startSupervisedDatabase, startSupervisedTemporal } from './supervision/children';
import { claimDataDir } from './supervision/leftovers';
import { explainStartUpFailure } from './supervision/start-up-failure';

const SHUTDOWN_DEADLINE_MS = 30_000;

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'payments', config.logFormat);
  installTemporalRuntime(logger, 'WARN', temporalMetricsOf(config));
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

  const supervision = { logger, onGiveUp: () => void shutdown(1), shuttingDown: () => stopping };
  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const claim = await claimDataDir(config.dataDir, logger);
    stops.push(async () => claim.release());

    const database = await startSupervisedDatabase(config, supervision);
    stops.push(database.stop);

    let temporalAddress = config.temporal.address;
    let uiUrl = config.temporal.uiUrl;
    if (!temporalAddress) {
      const temporal = await startSupervisedTemporal(config, supervision, claim, database.url, (stop) => stops.push(stop));
      temporalAddress = temporal.address;
      uiUrl ??= temporal.uiUrl;
    }
    // For `npm run temporal` (src/temporal/cli-wrapper.ts): the project's CLI then talks to this server.
    const addressFile = path.join(config.dataDir, TEMPORAL_ADDRESS_FILE);
    fs.writeFileSync(addressFile, `${temporalAddress}\n`);
    stops.push(async () => fs.rmSync(addressFile, { force: true }));

    let railUrl = config.rail.url;
    if (!railUrl) {
      // Not restarted: the simulated bank keeps its payments in memory, and a new one would not know them.
      const rail = await startRailProcess({
        callbackSecret: railSecret(config),
        log: (line) => logger.debug({ rail: line }),
        onSpawn: (pid) => claim.recordChild('rail', pid),
        onUnexpectedExit: (err) => {
          logger.fatal({ err }, 'the payout rail stopped');
          void shutdown(1);
        },
      });
      stops.push(rail.stop);
      railUrl = rail.url;
    }

    const app = await startApplication({
      ...optionsFromConfig(config),
      databaseUrl: database.url,
      temporalAddress,
      logger,
      runApi: true,
      runWorker: true,
      rail: { url: railUrl, callbackSecret: railSecret(config), publicApiUrl: config.rail.publicApiUrl },
      onFatal: () => void shutdown(1),
      temporalUiUrl: uiUrl,
    });
    stops.push(app.stop);

    const admin = await adminKey(config);
    await createAuthService({ db: app.db }).ensureAdminKey(admin.secret);

    const lines = [
      '',
      'Payments service is running.',
      `  API:          ${app.url}/v1   (health: ${app.url}/health, readiness: ${app.url}/ready)`,
      `  Console:      ${app.url}/console   (compliance officers: sign in with a compliance key)`,
      `  Temporal UI:  ${uiUrl ?? '(external Temporal: see its UI)'}`,
      `  Temporal:     ${temporalAddress} (${engineLabel(config)}; namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
      `  Temporal CLI: npm run temporal -- workflow list   (the project's CLI, pointed at this server)`,
      `  Payout rail:  ${railUrl}${config.rail.url ? '' : ' (simulated bank, controls: PUT /controls/:account)'}`,
      `  Metrics:      ${app.metricsUrl ?? '(off: METRICS_PORT=0)'}${temporalMetricsOf(config) ? `, Temporal worker: http://${config.metrics.host}:${config.metrics.temporalPort}/metrics` : ''}`,
      `  Postgres:     ${database.embedded ? 'embedded, data in ' + path.join(config.dataDir, 'postgres') : 'DATABASE_URL'}`,
      `  Admin key:    ${admin.shown}`,
      '',
      `  Try: curl -s ${app.url}/v1/customers -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/json" -d '{"name":"Ada","country":"GB"}'`,
      '  Ctrl-C stops everything.',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    logger.fatal({ err }, `start-up failed: ${explainStartUpFailure(err, config)}`);
    await shutdown(1);
  }
}

function engineLabel(config: ReturnType<typeof loadConfig>): string {
  if (config.temporal.address) return 'TEMPORAL_ADDRESS';
  return config.temporal.engine === 'server' ? 'the Temporal server, state in PostgreSQL' : 'the CLI dev server, state in temporal.db';
}

/**
 * The admin key: ADMIN_API_KEY when given (never printed: whoever set it knows it); otherwise one
 * generated on first start into DATA_DIR (mode 0600) and printed that once; later starts say where it is.
 */
async function adminKey(config: ReturnType<typeof loadConfig>): Promise<{ secret: string; shown: string }> {
  if (config.adminApiKey) return { secret: config.adminApiKey, shown: '(ADMIN_API_KEY, not printed)' };
  const file = path.join(config.dataDir, 'admin-api-key');
  const { secret, created } = persistentSecret(config.dataDir, 'admin-api-key', 'sk_admin_');
  return created
    ? { secret, shown: `${secret}   (generated now and shown once; kept in ${file}, mode 0600)` }
    : { secret, shown: `in ${file} (printed when it was generated): export ADMIN_KEY=$(cat ${file})` };
}

function railSecret(config: ReturnType<typeof loadConfig>): string {
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
