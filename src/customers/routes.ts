import { Router } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { parseInput, pathId, SafeText } from '../api/validation';
import { canSeeCustomer, principalOf, requireRole } from '../auth/middleware';
import { presentCustomer, type CustomerService } from './service';

export const CreateCustomer = z.strictObject({
  name: SafeText(200).pipe(z.string().trim().min(1)),
  country: z.string().regex(/^[A-Z]{2}$/, 'Must be an ISO 3166-1 alpha-2 code such as "US"'),
});

export function customerRoutes(deps: { customers: CustomerService }): Router {
  const router = Router();

  router.post('/customers', requireRole('admin'), async (req, res) => {
    const input = parseInput(CreateCustomer, req.body);
    res.status(201).json(presentCustomer(await deps.customers.create(input)));
  });

  router.get('/customers/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const customer = await deps.customers.get(pathId(req.params.id));
    if (!customer || !canSeeCustomer(principalOf(req), customer.id)) {
      throw ApiError.of(ApiErrorCode.NotFound, 'No customer with this id.');
    }
    res.json(presentCustomer(customer));
  });

  return router;
}
