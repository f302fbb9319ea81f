/**
 * One real PostgreSQL and one real Temporal dev server per `npm test` run, torn down at the end.
 * - Postgres: DATABASE_URL's server with a fresh throwaway database, or an embedded cluster in a temp dir.
 * - Temporal: TEMPORAL_ADDRESS when set, otherwise the CLI dev server as a child process (in memory).
 * The workflow bundle is built once and shared by every test file's workers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createDb } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrator';
import { startEmbeddedPostgres } from '../../stack/postgres/embedded-postgres';
import { freePort } from '../../stack/net';
import { ensureTemporalCli } from '../../stack/temporal/cli';
import { BUILD_SETTING } from '../../stack/temporal/go-install';
import { startDevServer } from '../../stack/temporal/dev-server';
import { WORKFLOWS_PATH } from '../../worker/temporal-worker';
import { startRailProcess } from '../../stack/rail/process';
import { databaseUrlOn, withPgClient } from '../../src/db/pg-client';

type Teardown = () => Promise<void>;
declare global {
  var __paymentsTeardown: Teardown[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  // npm test's pretest step built every Temporal program (src/temporal/build-programs.ts): from here
  // on, a missing one is an error at once, never a build of minutes inside a test's timeout.
  process.env[BUILD_SETTING] = 'never';
  const teardown: Teardown[] = [];
  globalThis.__paymentsTeardown = teardown;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-test-'));
  fs.chmodSync(workDir, 0o755); // the embedded cluster runs as the postgres user
  teardown.push(async () => fs.rmSync(workDir, { recursive: true, force: true }));

  const [databaseUrl, temporalAddress] = await Promise.all([startDatabase(workDir, teardown), startTemporal(teardown)]);
  const db = createDb(databaseUrl, 2);
  try {
    await migrateLatest(db);
  } finally {
    await db.destroy();
  }

  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  const bundlePath = path.join(workDir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);

  // The simulated payout rail, a process of its own, as in production a bank is.
  const railSecret = `rail_test_${randomBytes(12).toString('hex')}`;
  const rail = await startRailProcess({ callbackSecret: railSecret, log: (line) => console.error(`[rail] ${line}`) });
  teardown.push(rail.stop);
  process.env.TEST_RAIL_URL = rail.url;
  process.env.TEST_RAIL_SECRET = railSecret;

  process.env.TEST_DATABASE_URL = databaseUrl;
  process.env.TEST_TEMPORAL_ADDRESS = temporalAddress;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
}

async function startDatabase(workDir: string, teardown: Teardown[]): Promise<string> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const name = `payments_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
    await withPgClient(external, (c) => c.query(`CREATE DATABASE ${name}`));
    teardown.push(() => withPgClient(external, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined));
    return databaseUrlOn(external, name);
  }
  const pg = await startEmbeddedPostgres({ dataDir: path.join(workDir, 'postgres'), database: 'payments_test', throwaway: true });
  teardown.push(pg.stop);
  return pg.url;
}

async function startTemporal(teardown: Teardown[]): Promise<string> {
  if (process.env.TEMPORAL_ADDRESS) return process.env.TEMPORAL_ADDRESS;
  const cliPath = await ensureTemporalCli({ explicitPath: process.env.TEMPORAL_CLI });
  const server = await startDevServer({ cliPath, port: await freePort(), namespace: 'default' });
  teardown.push(server.stop);
  return server.address;
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => console.error(m), log: noop };
