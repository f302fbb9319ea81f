/**
 * The migrations as a command: `node dist/src/db/migrate-cli.js [up|down]` in the image (DATABASE_URL
 * names the database), and `npm run migrate` locally (stack/commands/migrate.ts, which also opens
 * the embedded PostgreSQL). `up` applies every pending migration; `down` undoes the most recent one.
 */
import { createDb, type Db } from './knex';
import { migrateDown, migrateLatest } from './migrator';

export async function runMigrations(db: Db, direction: string): Promise<string> {
  if (direction !== 'up' && direction !== 'down') throw new Error('usage: migrate [up|down]');
  const names = direction === 'up' ? await migrateLatest(db) : await migrateDown(db);
  return names.length ? `${direction === 'up' ? 'Applied' : 'Rolled back'}: ${names.join(', ')}` : 'Nothing to do: the schema is current.';
}

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (npm run migrate opens the local stack\'s database instead)');
  const db = createDb(url, 2);
  try {
    console.log(await runMigrations(db, process.argv[2] ?? 'up'));
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
