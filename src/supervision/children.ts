import path from 'node:path';
import type { Config } from '../config';
import { PREFERRED_EMBEDDED_PORT, type DatabaseHandle } from '../db/database';
import { startEmbeddedPostgres } from '../db/embedded-postgres';
import { preferredOrFreePort } from '../net';
import { ensureTemporalCli } from '../temporal/cli';
import { startDevServer } from '../temporal/dev-server';
import type { DataDirClaim } from './leftovers';
import { superviseChild, type Supervision } from './restarts';

/** The port the dev server prefers, so its address stays the same across restarts when it is free. */
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

/** The Temporal CLI's dev server on its SQLite file in DATA_DIR, restarted on the same port and file when it dies. */
export async function startSupervisedDevServer(
  config: Config,
  supervision: Supervision,
  claim: DataDirClaim,
  onFirstSpawn: (stop: () => Promise<void>) => void,
): Promise<{ address: string; uiUrl: string | undefined }> {
  const { logger } = supervision;
  const cliPath = ensureTemporalCli({ explicitPath: config.temporal.cliPath, log: (m) => logger.info(m) });
  const port = await preferredOrFreePort(PREFERRED_TEMPORAL_PORT);
  const start = (onSpawn?: (stop: () => Promise<void>) => void) =>
    startDevServer({
      cliPath,
      dbFile: path.join(config.dataDir, 'temporal.db'),
      port,
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      log: (line) => logger.debug({ temporal: line }),
      // Recorded as soon as it exists: if npm start dies while it starts, the next start finds it.
      onSpawn: (stop, pid) => {
        claim.recordChild('temporal', pid);
        onSpawn?.(stop);
      },
    });
  const first = await start(onFirstSpawn);
  const supervisor = superviseChild(supervision, {
    name: 'the Temporal dev server',
    first,
    restart: () => start(),
  });
  onFirstSpawn(supervisor.stop);
  return { address: first.address, uiUrl: first.uiUrl };
}
