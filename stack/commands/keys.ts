/** `npm run keys -- create --role admin|compliance|client [--customer <id>] [--label text] [--issued-to person]`: prints a new API key once. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { withDatabase } from '../postgres/database';
import { migrateLatest } from '../../src/db/migrator';
import { createAuthService, ROLES, type Role } from '../../src/auth/service';

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { role: { type: 'string' }, customer: { type: 'string' }, label: { type: 'string' }, 'issued-to': { type: 'string' } },
  });
  const role = values.role as Role | undefined;
  if (positionals[0] !== 'create' || !role || !ROLES.includes(role)) {
    throw new Error(`usage: npm run keys -- create --role ${ROLES.join('|')} [--customer <customer id>] [--label <text>] [--issued-to <person>]`);
  }
  if ((role === 'client') !== (values.customer !== undefined)) throw new Error('--customer is required for, and only for, --role client');
  await withDatabase(loadConfig(), async (db) => {
    await migrateLatest(db);
    const key = await createAuthService({ db }).createKey({ role, customerId: values.customer, label: values.label ?? 'cli', issuedTo: values['issued-to']?.trim() || undefined });
    console.log(JSON.stringify(key, null, 2));
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
