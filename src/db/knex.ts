import knex, { Knex } from 'knex';
import { types } from 'pg';

// NUMERIC (1700) and BIGINT (20) stay strings: money must never pass through a JS number.
types.setTypeParser(1700, (v) => v);
types.setTypeParser(20, (v) => v);

export type Db = Knex;

export function createDb(connectionString: string, poolMax = 20): Db {
  return knex({
    client: 'pg',
    connection: { connectionString, application_name: 'payments' },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 30_000,
  });
}

/** Postgres error codes we act on. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_CHECK_VIOLATION = '23514';
export const PG_FOREIGN_KEY_VIOLATION = '23503';

export function isPgError(err: unknown, code: string, constraint?: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === code && (constraint === undefined || e.constraint === constraint);
}

/**
 * Runs `fn` in the caller's transaction, or in a new one when given the pool: what must commit
 * together (a status change and its webhook event) always does.
 */
export async function inTransaction<T>(trx: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return (trx as Db & { isTransaction?: boolean }).isTransaction ? fn(trx) : trx.transaction(fn);
}
