import { Client as PgClient } from 'pg';

/** `serverUrl` with its database replaced by `database`: another database on the same server. */
export function databaseUrlOn(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * One short-lived connection (not a pool) to `databaseUrl` for `fn`, closed after: for work on a
 * server's other databases (CREATE/DROP DATABASE, the Temporal server's schema), where no pool is open.
 */
export async function withPgClient<T>(databaseUrl: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new PgClient({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
