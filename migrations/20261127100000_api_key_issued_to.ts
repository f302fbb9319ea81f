import type { Knex } from 'knex';

/**
 * The named person an admin or compliance key is issued to: maker-checker compares people as
 * well as keys, so one person holding two keys cannot make and approve the same payment.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE api_keys ADD COLUMN issued_to text;
    CREATE INDEX api_keys_issued_to_idx ON api_keys (lower(issued_to)) WHERE issued_to IS NOT NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE api_keys DROP COLUMN issued_to;`);
}
