import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config';
import { preferredOrFreePort } from '../net';
import { startEmbeddedPostgres } from './embedded-postgres';
import { createDb, type Db } from '../../src/db/knex';

export type DatabaseHandle = { url: string; embedded: boolean; stop: () => Promise<void> };

/** Port the embedded cluster prefers, so its URL stays the same across restarts when it is free. */
export const PREFERRED_EMBEDDED_PORT = 54329;
const USER_PASSWORD = 'postgres:postgres';

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL whose data lives in `<DATA_DIR>/postgres`.
 * If `npm start` already runs that cluster, its port is read from postmaster.pid and it is shared.
 */
export async function openDatabase(config: Config, log: (line: string) => void = () => undefined): Promise<DatabaseHandle> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  const dataDir = path.resolve(config.dataDir, 'postgres');
  const running = runningClusterPort(dataDir);
  if (running) {
    return { url: `postgres://${USER_PASSWORD}@127.0.0.1:${running}/payments`, embedded: true, stop: async () => undefined };
  }
  const port = await preferredOrFreePort(PREFERRED_EMBEDDED_PORT);
  const pg = await startEmbeddedPostgres({ dataDir, port, database: 'payments', log });
  return { url: pg.url, embedded: true, stop: pg.stop };
}

function runningClusterPort(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number.parseInt(pidLine ?? '', 10);
  const port = Number.parseInt(portLine ?? '', 10);
  try {
    process.kill(pid, 0);
    return Number.isInteger(port) ? port : undefined;
  } catch {
    return undefined;
  }
}

/** For one-shot commands (migrate, keys): the database for `fn`, closed (and an embedded cluster stopped) after. */
export async function withDatabase<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const database = await openDatabase(config);
  const db = createDb(database.url, 2);
  try {
    return await fn(db);
  } finally {
    await db.destroy();
    await database.stop();
  }
}
