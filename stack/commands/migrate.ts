/** `npm run migrate` applies pending migrations; `npm run migrate -- down` undoes the most recent one. On DATABASE_URL, or the embedded PostgreSQL of DATA_DIR. */
import { loadConfig } from '../../src/config';
import { runMigrations } from '../../src/db/migrate-cli';
import { withDatabase } from '../postgres/database';

withDatabase(loadConfig(), async (db) => console.log(await runMigrations(db, process.argv[2] ?? 'up'))).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
