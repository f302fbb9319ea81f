/** `npm run migrate` applies pending migrations; `npm run migrate -- down` undoes the most recent one. */
import { loadConfig } from '../config';
import { openDatabase } from './database';
import { createDb } from './knex';
import { migrateDown, migrateLatest } from './migrator';

async function main() {
  const direction = process.argv[2] ?? 'up';
  if (direction !== 'up' && direction !== 'down') throw new Error('usage: npm run migrate [-- up|down]');
  const config = loadConfig();
  const database = await openDatabase(config);
  const db = createDb(database.url, 2);
  try {
    const names = direction === 'up' ? await migrateLatest(db) : await migrateDown(db);
    console.log(names.length ? `${direction === 'up' ? 'Applied' : 'Rolled back'}: ${names.join(', ')}` : 'Nothing to do: the schema is current.');
  } finally {
    await db.destroy();
    await database.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
