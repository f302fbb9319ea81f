import path from 'node:path';
import type { Config } from '../../src/config';
import { PREFERRED_EMBEDDED_PORT, type DatabaseHandle } from '../postgres/database';
import { startEmbeddedPostgres } from '../postgres/embedded-postgres';
import { preferredOrFreePort } from '../net';
import { ensureTemporalCli } from '../temporal/cli';
import { startDevServer } from '../temporal/dev-server';
import type { TemporalServerHandle } from '../temporal/process';
import { ensureTemporalServer, startTemporalServer, temporalServerPorts } from '../temporal/server';
import { ensureTemporalUiServer, startTemporalUiServer } from '../temporal/ui-server';
import { TEMPORAL_SERVER_STATE_DIR, TEMPORAL_UI_STATE_DIR, type ChildName, type DataDirClaim } from './leftovers';
import { superviseChild, type RunningChild, type Supervision } from './restarts';

/** The port the Temporal frontend prefers, so its address stays the same across restarts when it is free. */
const PREFERRED_TEMPORAL_PORT = 7233;

/**
 * DATABASE_URL when set (someone else runs it); otherwise the embedded PostgreSQL in
 * `<DATA_DIR>/postgres`, restarted on the same port and data when it dies.
 */
export async function startSupervisedDatabase(config: Config, supervision: Supervision): Promise<DatabaseHandle> {
  const { logger } = supervision;
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  const dataDir = path.resolve(config.dataDir, 'postgres');
  const port = await preferredOrFreePort(PREFERRED_EMBEDDED_PORT);
  const start = () => startEmbeddedPostgres({ dataDir, port, database: 'payments', log: (line) => logger.debug({ postgres: line }) });
  const first = await start();
  const supervisor = superviseChild(supervision, { name: 'PostgreSQL', first, restart: start });
  return { url: first.url, embedded: true, stop: supervisor.stop };
}

/**
 * The Temporal npm start runs when TEMPORAL_ADDRESS is unset, restarted on the same port and state
 * when it dies: TEMPORAL_ENGINE=dev (the default), the CLI's dev server on its SQLite file in
 * DATA_DIR with its Web UI; TEMPORAL_ENGINE=server, the Temporal server itself with its state in
 * the service's PostgreSQL (databases temporal and temporal_visibility), and the Web UI server.
 */
export async function startSupervisedTemporal(
  config: Config,
  supervision: Supervision,
  claim: DataDirClaim,
  databaseUrl: string,
  onFirstSpawn: (stop: () => Promise<void>) => void,
): Promise<{ address: string; uiUrl: string | undefined }> {
  const { logger } = supervision;
  const log = (m: string) => logger.info(m);
  const port = await preferredOrFreePort(PREFERRED_TEMPORAL_PORT);
  let start: (onSpawn?: (stop: () => Promise<void>) => void) => Promise<TemporalServerHandle>;
  const recorded = (name: ChildName, onSpawn?: (stop: () => Promise<void>) => void) => (stop: () => Promise<void>, pid: number | undefined) => {
    // Recorded as soon as it exists: if npm start dies while it starts, the next start finds it.
    claim.recordChild(name, pid);
    onSpawn?.(stop);
  };
  if (config.temporal.engine === 'dev') {
    const cliPath = await ensureTemporalCli({ explicitPath: config.temporal.cliPath, log });
    start = (onSpawn) =>
      startDevServer({
        cliPath,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        port,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        log: (line) => logger.debug({ temporal: line }),
        onSpawn: recorded('temporal', onSpawn),
      });
  } else {
    const programs = await ensureTemporalServer(log);
    const ports = await temporalServerPorts(port);
    start = (onSpawn) =>
      startTemporalServer({
        programs,
        databaseUrl,
        stateDir: path.join(config.dataDir, TEMPORAL_SERVER_STATE_DIR),
        ports,
        namespace: config.temporal.namespace,
        log: (line) => logger.debug({ temporal: line }),
        onSpawn: recorded('temporal', onSpawn),
      });
  }
  const first = await supervised(supervision, 'the Temporal server', start, onFirstSpawn);
  if (config.temporal.engine === 'dev' || config.temporal.uiUrl) return { address: first.address, uiUrl: first.uiUrl };

  const uiBinary = await ensureTemporalUiServer(log);
  const startUi = (onSpawn?: (stop: () => Promise<void>) => void) =>
    startTemporalUiServer({
      binary: uiBinary,
      temporalAddress: first.address,
      port: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      stateDir: path.join(config.dataDir, TEMPORAL_UI_STATE_DIR),
      log: (line) => logger.debug({ temporalUi: line }),
      onSpawn: recorded('temporal-ui', onSpawn),
    });
  const ui = await supervised(supervision, 'the Temporal Web UI server', startUi, onFirstSpawn);
  return { address: first.address, uiUrl: ui.uiUrl };
}

/** Starts a child, hands its stop to `onFirstSpawn` at once (a shutdown during start-up stops it), then the supervisor's stop. */
async function supervised<T extends RunningChild>(
  supervision: Supervision,
  name: string,
  start: (onSpawn?: (stop: () => Promise<void>) => void) => Promise<T>,
  onFirstSpawn: (stop: () => Promise<void>) => void,
): Promise<T> {
  const first = await start(onFirstSpawn);
  const supervisor = superviseChild(supervision, { name, first, restart: () => start() });
  onFirstSpawn(supervisor.stop);
  return first;
}
