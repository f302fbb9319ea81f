import { Router } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { CreatedAtIdCursor, encodeCursor, PageQuery, resolveCursor } from '../api/pagination';
import { parseInput, pathId, SafeText, Uuid } from '../api/validation';
import type { CustomerService } from '../customers/service';
import { principalOf, requireRole } from './middleware';
import { ROLES, type AuthService } from './service';

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

export function apiKeyRoutes(deps: { auth: AuthService; customers: CustomerService }): Router {
  const router = Router();
  /** The calling key's own id and role (any role): the compliance console checks a key with it at sign-in. */
  router.get('/whoami', (req, res) => {
    const p = principalOf(req);
    res.json({ key_id: p.keyId, role: p.role, customer_id: p.customerId });
  });

  /** Returns the secret once; only its SHA-256 is stored. */
  router.post('/api-keys', requireRole('admin'), async (req, res) => {
    const input = parseInput(CreateApiKey, req.body);
    if (input.customer_id && !(await deps.customers.get(input.customer_id))) {
      throw ApiError.of(ApiErrorCode.CustomerNotFound, 'No customer with this id.', '#/customer_id');
    }
    const key = await deps.auth.createKey({ role: input.role, customerId: input.customer_id, label: input.label, issuedTo: input.issued_to, createdByKeyId: principalOf(req).keyId });
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
    const id = pathId(req.params.id).toLowerCase();
    if (id === principalOf(req).keyId) {
      throw ApiError.of(ApiErrorCode.RevokingOwnKey, 'A key cannot revoke itself: revoke it with another admin key.');
    }
    const key = await deps.auth.revokeKey(id);
    if (!key) throw ApiError.of(ApiErrorCode.NotFound, 'No API key with this id.');
    res.json(key);
  });
  return router;
}
