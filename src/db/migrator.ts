import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import type { Db } from './knex';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

/**
 * Loads the timestamped migrations in migrations/ with the running process's own module loader
 * (tsx in development, the jest transform in tests), so knex never needs a TypeScript register hook.
 * The compiled build (npm run build) has the same migrations as .js in dist/migrations, under the same names.
 */
class DirectoryMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d{14}_[\w-]+\.[jt]s$/.test(f))
      .sort();
  }
  getMigrationName(file: string): string {
    return file.replace(/\.[jt]s$/, '');
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(MIGRATIONS_DIR, file)) as Knex.Migration;
  }
}

const migrationConfig = (): Knex.MigratorConfig => ({ migrationSource: new DirectoryMigrationSource() });

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
  return applied;
}

/** Undoes the most recent migration (one, not a whole batch). */
export async function migrateDown(db: Db): Promise<string[]> {
  const [, undone] = (await db.migrate.down(migrationConfig())) as [number, string[]];
  return undone;
}
