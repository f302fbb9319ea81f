/**
 * `npm start`: everything on one machine. Postgres (DATABASE_URL or embedded, data in .data/),
 * the Temporal dev server (TEMPORAL_ADDRESS or the CLI's, state in .data/temporal.db, Web UI),
 * the worker and the API. Prints the URLs and an admin key; Ctrl-C stops it all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { optionsFromConfig, startApplication } from './application';
import { createAuthService } from './auth/service';
import { loadConfig } from './config';
import { openDatabase } from './db/database';
import { preferredOrFreePort } from './net';
import { createLogger } from './logger';
import { ensureTemporalCli } from './temporal/cli';
import { startDevServer } from './temporal/dev-server';
import { installTemporalRuntime } from './temporal/runtime';
import { startRailProcess } from './rail/process';

const DEFAULT_TEMPORAL_PORT = 7233;
const SHUTDOWN_DEADLINE_MS = 30_000;

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  installTemporalRuntime(logger);
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

  try {
    fs.mkdirSync(config.dataDir, { recursive: true });
    const database = await openDatabase(config, (line) => logger.debug({ postgres: line }));
    stops.push(database.stop);

    let temporalAddress = config.temporal.address;
    let uiUrl = config.temporal.uiUrl;
    if (!temporalAddress) {
      const cliPath = ensureTemporalCli({ explicitPath: config.temporal.cliPath, log: (m) => logger.info(m) });
      const devServer = await startDevServer({
        cliPath,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        port: await preferredOrFreePort(DEFAULT_TEMPORAL_PORT),
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        log: (line) => logger.debug({ temporal: line }),
        onSpawn: (stop) => stops.push(stop),
      });
      temporalAddress = devServer.address;
      uiUrl ??= devServer.uiUrl;
    }

    let railUrl = config.rail.url;
    if (!railUrl) {
      const rail = await startRailProcess({
        callbackSecret: railSecret(config),
        log: (line) => logger.debug({ rail: line }),
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
    });
    stops.push(app.stop);

    const adminKey = config.adminApiKey ?? persistentAdminKey(config.dataDir);
    await createAuthService({ db: app.db }).ensureAdminKey(adminKey);

    const lines = [
      '',
      'Payments service is running.',
      `  API:          ${app.url}/v1   (health: ${app.url}/health, readiness: ${app.url}/ready)`,
      `  Temporal UI:  ${uiUrl ?? '(external Temporal: see its UI)'}`,
      `  Temporal:     ${temporalAddress} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
      `  Payout rail:  ${railUrl}${config.rail.url ? '' : ' (simulated bank, controls: PUT /controls/:account)'}`,
      `  Postgres:     ${database.embedded ? 'embedded, data in ' + path.join(config.dataDir, 'postgres') : 'DATABASE_URL'}`,
      `  Admin key:    ${adminKey}`,
      '',
      `  Try: curl -s ${app.url}/v1/customers -H "Authorization: Bearer ${adminKey}" -H "Content-Type: application/json" -d '{"name":"Ada","country":"GB"}'`,
      '  Ctrl-C stops everything.',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await shutdown(1);
  }
}

/** Generated on first start and kept in .data/ (mode 0600), so the printed key stays valid across restarts. */
function persistentAdminKey(dataDir: string): string {
  return persistentSecret(dataDir, 'admin-api-key', 'sk_admin_');
}

function railSecret(config: ReturnType<typeof loadConfig>): string {
  return config.rail.callbackSecret ?? persistentSecret(config.dataDir, 'rail-callback-secret', 'rail_');
}

function persistentSecret(dataDir: string, name: string, prefix: string): string {
  const file = path.join(dataDir, name);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const secret = `${prefix}${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

void main();
