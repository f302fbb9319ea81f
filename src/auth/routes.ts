import { Router } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { parseInput, SafeText, Uuid } from '../api/validation';
import type { CustomerService } from '../customers/service';
import { principalOf, requireRole } from './middleware';
import { ROLES, type AuthService } from './service';

const CreateApiKey = z
  .strictObject({ role: z.enum(ROLES), customer_id: Uuid.optional(), label: SafeText(100).optional() })
  .refine((k) => (k.role === 'client') === (k.customer_id !== undefined), {
    message: 'customer_id is required for the client role and not allowed for the others',
    path: ['customer_id'],
  });

export function apiKeyRoutes(deps: { auth: AuthService; customers: CustomerService }): Router {
  const router = Router();
  /** Returns the secret once; only its SHA-256 is stored. */
  router.post('/api-keys', requireRole('admin'), async (req, res) => {
    const input = parseInput(CreateApiKey, req.body);
    if (input.customer_id && !(await deps.customers.get(input.customer_id))) {
      throw ApiError.of(ApiErrorCode.CustomerNotFound, 'No customer with this id.', '#/customer_id');
    }
    const key = await deps.auth.createKey({ role: input.role, customerId: input.customer_id, label: input.label, createdByKeyId: principalOf(req).keyId });
    res.status(201).json(key);
  });
  return router;
}
