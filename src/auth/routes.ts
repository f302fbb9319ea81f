import { Router } from 'express';
import { z } from 'zod';
import { ApiError, HttpErrorCode } from '../http/errors';
import { body, errors, Id, json, op, page, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { CreatedAtIdCursor, encodeCursor, PageQuery, resolveCursor } from '../http/pagination';
import { parseInput, pathId, SafeText, Uuid } from '../http/validation';
import { principalOf, requireRole } from './middleware';
import { ROLES, type ApiKeyView, type AuthService, type CreatedApiKey } from './service';

export const CreateApiKey = z
  .strictObject({
    role: z.enum(ROLES),
    customer_id: Uuid.optional(),
    label: SafeText(100).optional(),
    /** The named person who holds the key (e.g. an employee's e-mail): maker-checker compares people too. */
    issued_to: SafeText(200).pipe(z.string().trim().min(1)).optional(),
  })
  .refine((k) => (k.role === 'client') === (k.customer_id !== undefined), {
    message: 'customer_id is required for the client role and not allowed for the others',
    path: ['customer_id'],
  });

export const ListApiKeys = z.strictObject(PageQuery);

export const Role = z.enum(ROLES);

export const ApiKey = z
  .object({
    id: Id,
    prefix: z.string(),
    role: Role,
    customer_id: Id.nullable(),
    label: z.string().nullable(),
    issued_to: z.string().nullable(),
    created_by_key_id: Id.nullable(),
    created_at: Timestamp,
    revoked_at: Timestamp.nullable(),
  })
  .meta({ id: 'ApiKey', description: 'A key as listed: never its secret or hash.' });
type _ApiKeyDocumented = Assert<Documents<typeof ApiKey, ApiKeyView>>;

export const CreatedKey = z
  .object({
    id: Id,
    key: z.string().meta({ description: 'The secret: shown this once, stored only as its SHA-256' }),
    prefix: z.string(),
    role: Role,
    customer_id: Id.nullable(),
    issued_to: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'CreatedApiKey' });
type _CreatedKeyDocumented = Assert<Documents<typeof CreatedKey, CreatedApiKey>>;

/** `customerExists`: the customers' own check, so that keys need not know the customers. */
export function apiKeyRoutes(deps: { auth: AuthService; customerExists: (id: string) => Promise<boolean> }): Router {
  const router = Router();
  /** The calling key's own id and role (any role): the compliance console checks a key with it at sign-in. */
  router.get('/whoami', (req, res) => {
    const p = principalOf(req);
    res.json({ key_id: p.keyId, role: p.role, customer_id: p.customerId });
  });

  /** Returns the secret once; only its SHA-256 is stored. */
  router.post('/api-keys', requireRole('admin'), async (req, res) => {
    const input = parseInput(CreateApiKey, req.body);
    const key = await deps.auth.createKey(
      { role: input.role, customerId: input.customer_id, label: input.label, issuedTo: input.issued_to, createdByKeyId: principalOf(req).keyId },
      deps.customerExists,
    );
    res.status(201).json(key);
  });

  /** Every key, newest first: who holds which role, who made it, whether it is revoked. No secrets, no hashes. */
  router.get('/api-keys', requireRole('admin'), async (req, res) => {
    const query = parseInput(ListApiKeys, req.query);
    const after = await resolveCursor(query.cursor, CreatedAtIdCursor, deps.auth.findListedKey);
    const page = await deps.auth.listKeys({ limit: query.limit, after });
    res.json({ data: page.keys, next_cursor: page.next ? encodeCursor(page.next) : null });
  });

  /**
   * From now on the key authenticates nothing. Idempotent: a revoked key answers 200 again with its
   * first revocation time. A key cannot revoke itself (409): an admin rotates its key by creating a
   * new one and revoking the old one with it, so no admin locks itself (or the last admin) out.
   */
  router.post('/api-keys/:id/revoke', requireRole('admin'), async (req, res) => {
    const key = await deps.auth.revokeKey(pathId(req.params.id).toLowerCase(), principalOf(req).keyId);
    if (!key) throw ApiError.of(HttpErrorCode.NotFound, 'No API key with this id.');
    res.json(key);
  });
  return router;
}

export const apiKeyPaths: OpenApiPaths = {
  '/v1/whoami': {
    get: op('API keys', 'whoami', 'The calling key', {
      description: "Any role. The key's own id, role and customer (client keys).",
      responses: { '200': json('The key', z.object({ key_id: Id, role: Role, customer_id: Id.nullable() })), ...errors(...V1) },
    }),
  },
  '/v1/api-keys': {
    post: op('API keys', 'createApiKey', 'Create an API key', {
      description: `${roles('admin')} Returns the secret once. \`customer_id\` is required for the client role and refused for the others; \`issued_to\` names the person who holds it (maker-checker compares people).`,
      requestBody: body(CreateApiKey),
      responses: { '201': json('The new key, with its secret', CreatedKey), ...errors(...V1, ...BODY, 403) },
    }),
    get: op('API keys', 'listApiKeys', 'List API keys', {
      description: `${roles('admin')} Newest first.`,
      requestParams: { query: ListApiKeys },
      responses: { '200': json('A page of keys', page(ApiKey)), ...errors(...V1, 403, 422) },
    }),
  },
  '/v1/api-keys/{id}/revoke': {
    post: op('API keys', 'revokeApiKey', 'Revoke an API key', {
      description: `${roles('admin')} Refused from its next request; idempotent (the first revoked_at is kept). A key cannot revoke itself (409 \`revoking_own_key\`).`,
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The revoked key', ApiKey), ...errors(...V1, 403, 404, 409) },
    }),
  },
};
