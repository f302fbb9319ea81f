import { Router } from 'express';
import { z } from 'zod';
import { canSeeCustomer, principalOf, requireRole } from '../auth/middleware';
import { ApiError, HttpErrorCode } from '../http/errors';
import { body, errors, Id, json, op, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { parseInput, pathId, SafeText } from '../http/validation';
import { presentCustomer, type CustomerService } from './service';

export const CreateCustomer = z.strictObject({
  name: SafeText(200).pipe(z.string().trim().min(1)),
  country: z.string().regex(/^[A-Z]{2}$/, 'Must be an ISO 3166-1 alpha-2 code such as "US"'),
});

export const Customer = z.object({ id: Id, name: z.string(), country: z.string(), status: z.string(), created_at: Timestamp }).meta({ id: 'Customer' });
type _CustomerDocumented = Assert<Documents<typeof Customer, ReturnType<typeof presentCustomer>>>;

export function customerRoutes(deps: { customers: CustomerService }): Router {
  const router = Router();

  router.post('/customers', requireRole('admin'), async (req, res) => {
    const input = parseInput(CreateCustomer, req.body);
    res.status(201).json(presentCustomer(await deps.customers.create(input)));
  });

  router.get('/customers/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const customer = await deps.customers.get(pathId(req.params.id));
    if (!customer || !canSeeCustomer(principalOf(req), customer.id)) {
      throw ApiError.of(HttpErrorCode.NotFound, 'No customer with this id.');
    }
    res.json(presentCustomer(customer));
  });

  return router;
}

export const customerPaths: OpenApiPaths = {
  '/v1/customers': {
    post: op('Customers', 'createCustomer', 'Create a customer', { description: roles('admin'), requestBody: body(CreateCustomer), responses: { '201': json('The customer', Customer), ...errors(...V1, ...BODY, 403) } }),
  },
  '/v1/customers/{id}': {
    get: op('Customers', 'getCustomer', 'Get a customer', {
      description: `${roles('admin', 'compliance', 'client')} A client key sees only its own customer.`,
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The customer', Customer), ...errors(...V1, 403, 404) },
    }),
  },
};
