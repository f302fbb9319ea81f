/** `npm run migrate` applies pending migrations; `npm run migrate -- down` undoes the most recent one. */
import { loadConfig } from '../config';
import { withDatabase } from './database';
import { migrateDown, migrateLatest } from './migrator';

async function main() {
  const direction = process.argv[2] ?? 'up';
  if (direction !== 'up' && direction !== 'down') throw new Error('usage: npm run migrate [-- up|down]');
  await withDatabase(loadConfig(), async (db) => {
    const names = direction === 'up' ? await migrateLatest(db) : await migrateDown(db);
    console.log(names.length ? `${direction === 'up' ? 'Applied' : 'Rolled back'}: ${names.join(', ')}` : 'Nothing to do: the schema is current.');
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
