import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';

export const ROLES = ['admin', 'client', 'compliance'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the bearer key on every /v1 request. */
export type Principal = { keyId: string; role: Role; customerId: string | null };

/**
 * Whose namespace a caller's idempotency keys and quotes live in: a client key shares its
 * customer's, an admin or compliance key has its own.
 */
export const principalScope = (p: Principal): string => (p.customerId ? `customer:${p.customerId}` : `key:${p.keyId}`);

export type CreatedApiKey = { id: string; key: string; prefix: string; role: Role; customer_id: string | null; created_at: Date };

export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** API keys are stored only as SHA-256 hashes; the secret is shown once, at creation. */
export function createAuthService(deps: { db: Db }) {
  const { db } = deps;

  async function createKey(input: { role: Role; customerId?: string | null; label?: string; secret?: string; createdByKeyId?: string }): Promise<CreatedApiKey> {
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
        created_by_key_id: input.createdByKeyId ?? null,
      })
      .returning(['id', 'role', 'customer_id', 'created_at']);
    return { id: row.id, key: secret, prefix, role: row.role, customer_id: row.customer_id, created_at: row.created_at };
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

  return { createKey, ensureAdminKey, authenticate };
}

export type AuthService = ReturnType<typeof createAuthService>;
