import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import { Refusal } from '../refusal';
import { AuthRefusal } from './refusals';

export const ROLES = ['admin', 'client', 'compliance'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the bearer key on every /v1 request. */
export type Principal = { keyId: string; role: Role; customerId: string | null };

/**
 * Whose namespace a caller's idempotency keys and quotes live in: a client key shares its
 * customer's, an admin or compliance key has its own.
 */
export const principalScope = (p: Principal): string => (p.customerId ? `customer:${p.customerId}` : `key:${p.keyId}`);

export type CreatedApiKey = { id: string; key: string; prefix: string; role: Role; customer_id: string | null; issued_to: string | null; created_at: Date };

export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** API keys are stored only as SHA-256 hashes; the secret is shown once, at creation. */
export function createAuthService(deps: { db: Db }) {
  const { db } = deps;

  /** A new key; with `customerExists`, a client key's customer is checked first (the customers' own check). */
  async function createKey(
    input: { role: Role; customerId?: string | null; label?: string; issuedTo?: string; secret?: string; createdByKeyId?: string },
    customerExists?: (id: string) => Promise<boolean>,
  ): Promise<CreatedApiKey> {
    if (input.customerId && customerExists && !(await customerExists(input.customerId))) {
      throw new Refusal(AuthRefusal.CustomerNotFound, 'No customer with this id.', '#/customer_id');
    }
    const secret = input.secret ?? `sk_${input.role}_${randomBytes(24).toString('base64url')}`;
    const prefix = secret.slice(0, 12);
    const [row] = await db('api_keys')
      .insert({
        id: randomUUID(),
        key_hash: hashSecret(secret),
        prefix,
        role: input.role,
        customer_id: input.customerId ?? null,
        label: input.label ?? null,
        issued_to: input.issuedTo ?? null,
        created_by_key_id: input.createdByKeyId ?? null,
      })
      .returning(['id', 'role', 'customer_id', 'issued_to', 'created_at']);
    return { id: row.id, key: secret, prefix, role: row.role, customer_id: row.customer_id, issued_to: row.issued_to, created_at: row.created_at };
  }

  /** Seeds an admin key with a known secret (ADMIN_API_KEY); a no-op when it already exists. */
  async function ensureAdminKey(secret: string): Promise<void> {
    await db('api_keys')
      .insert({ id: randomUUID(), key_hash: hashSecret(secret), prefix: secret.slice(0, 12), role: 'admin', label: 'ADMIN_API_KEY' })
      .onConflict('key_hash')
      .ignore();
  }

  async function authenticate(secret: string): Promise<Principal | undefined> {
    const row = await db('api_keys')
      .where({ key_hash: hashSecret(secret) })
      .whereNull('revoked_at')
      .first<{ id: string; role: Role; customer_id: string | null } | undefined>('id', 'role', 'customer_id');
    return row ? { keyId: row.id, role: row.role, customerId: row.customer_id } : undefined;
  }

  /** Keys, newest first, without their hashes; `after` is the last key of the previous page. */
  async function listKeys(page: { limit: number; after?: { created_at: string; id: string } }): Promise<{ keys: ApiKeyView[]; next: { created_at: string; id: string } | null }> {
    const q = db('api_keys')
      .select(
        ...API_KEY_VIEW_COLUMNS,
        // The cursor carries created_at at full (microsecond) precision, as Postgres sorts it.
        db.raw(`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_created_at`),
      )
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(page.limit + 1);
    if (page.after) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [page.after.created_at, page.after.id]);
    const rows = (await q) as Array<ApiKeyView & { cursor_created_at: string }>;
    const keys = rows.slice(0, page.limit);
    const last = keys[keys.length - 1];
    return {
      keys: keys.map(({ cursor_created_at: _, ...key }) => key),
      next: rows.length > page.limit && last ? { created_at: last.cursor_created_at, id: last.id } : null,
    };
  }

  /** The key a list cursor names, if there is one: a cursor the API did not issue is refused, not answered with an empty page. */
  async function findListedKey(key: { created_at: string; id: string }): Promise<{ id: string } | undefined> {
    return db('api_keys').where({ id: key.id }).whereRaw('created_at = ?::timestamptz', [key.created_at]).first<{ id: string } | undefined>('id');
  }

  /**
   * Revokes a key, by another key: from now on it authenticates nothing (it is looked up on every request).
   * Idempotent: revoking a revoked key keeps its first revocation time. Undefined when no such key.
   */
  async function revokeKey(id: string, byKeyId: string): Promise<ApiKeyView | undefined> {
    if (id === byKeyId) throw new Refusal(AuthRefusal.RevokingOwnKey, 'A key cannot revoke itself: revoke it with another admin key.');
    const [revoked] = await db('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() }).returning<ApiKeyView[]>(API_KEY_VIEW_COLUMNS);
    return revoked ?? (await db('api_keys').where({ id }).first<ApiKeyView | undefined>(API_KEY_VIEW_COLUMNS));
  }

  return { createKey, ensureAdminKey, authenticate, listKeys, findListedKey, revokeKey };
}

/** What the API shows of a key: never its secret (not stored) nor its hash. */
export type ApiKeyView = {
  id: string;
  prefix: string;
  role: Role;
  customer_id: string | null;
  label: string | null;
  issued_to: string | null;
  created_by_key_id: string | null;
  created_at: Date;
  revoked_at: Date | null;
};
const API_KEY_VIEW_COLUMNS = ['id', 'prefix', 'role', 'customer_id', 'label', 'issued_to', 'created_by_key_id', 'created_at', 'revoked_at'];

export type AuthService = ReturnType<typeof createAuthService>;
