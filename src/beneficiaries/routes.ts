import { Router } from 'express';
import { z } from 'zod';
import { principalOf, requireRole } from '../auth/middleware';
import { ApiError, HttpErrorCode } from '../http/errors';
import { body, errors, Id, json, LocationHeader, op, page, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { PageQuery, pageOf, resolveCursor } from '../http/pagination';
import { CurrencyCode, parseInput, pathId, SafeText, Uuid } from '../http/validation';
import type { BeneficiaryRow, BeneficiaryService } from './service';

/** Bank details: an IBAN (mod-97 checksum checked), or an account number with a bank code. */
const BankDetails = z.union([
  z.strictObject({ iban: z.string().max(42) }),
  z.strictObject({ account_number: z.string().regex(/^[0-9]{4,34}$/, '4-34 digits'), bank_code: z.string().regex(/^[A-Za-z0-9]{3,11}$/, '3-11 letters or digits') }),
]);
export const CreateBeneficiary = z.strictObject({
  customer_id: Uuid,
  name: SafeText(200).pipe(z.string().trim().min(1)),
  country: z.string().regex(/^[A-Z]{2}$/, 'Must be an ISO 3166-1 alpha-2 code such as "DE"'),
  currency: CurrencyCode,
  bank_details: BankDetails,
});
export const ListBeneficiaries = z.strictObject({ ...PageQuery, customer_id: Uuid.optional() });

export const presentBeneficiary = (b: BeneficiaryRow) => ({
  id: b.id,
  customer_id: b.customer_id,
  name: b.name,
  country: b.country.trim(),
  currency: b.currency.trim(),
  bank_details: b.bank_details,
  status: b.status,
  created_at: b.created_at,
});

export function beneficiaryRoutes(deps: { beneficiaries: BeneficiaryService }): Router {
  const { beneficiaries } = deps;
  const router = Router();

  router.post('/beneficiaries', requireRole('admin', 'client'), async (req, res) => {
    const row = await beneficiaries.create(principalOf(req), parseInput(CreateBeneficiary, req.body));
    res.status(201).location(`/v1/beneficiaries/${row.id}`).json(presentBeneficiary(row));
  });

  router.get('/beneficiaries/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const row = await beneficiaries.getVisible(principalOf(req), pathId(req.params.id));
    if (!row) throw ApiError.of(HttpErrorCode.NotFound, 'No beneficiary with this id.');
    res.json(presentBeneficiary(row));
  });

  router.get('/beneficiaries', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const principal = principalOf(req);
    const query = parseInput(ListBeneficiaries, req.query);
    // The cursor's beneficiary must be one the caller may see (as for GET /beneficiaries/:id).
    const after = await resolveCursor(query.cursor, z.object({ id: Uuid }), (key) => beneficiaries.getVisible(principal, key.id));
    const rows = await beneficiaries.list(principal, { customerId: query.customer_id, limit: query.limit + 1, afterId: after?.id });
    res.json(pageOf(rows, query.limit, presentBeneficiary));
  });

  return router;
}

export const Beneficiary = z
  .object({
    id: Id,
    customer_id: Id,
    name: z.string(),
    country: z.string(),
    currency: z.string(),
    bank_details: z.object({ iban: z.string().optional(), account_number: z.string().optional(), bank_code: z.string().optional() }),
    status: z.enum(['active', 'disabled']),
    created_at: Timestamp,
  })
  .meta({ id: 'Beneficiary' });
type _BeneficiaryDocumented = Assert<Documents<typeof Beneficiary, ReturnType<typeof presentBeneficiary>>>;

export const beneficiaryPaths: OpenApiPaths = {
  '/v1/beneficiaries': {
    post: op('Beneficiaries', 'createBeneficiary', 'Create a beneficiary', {
      description: `${roles('admin', 'client')} An IBAN (checksum checked) or an account number with a bank code.`,
      requestBody: body(CreateBeneficiary),
      responses: { '201': json('The beneficiary', Beneficiary, LocationHeader), ...errors(...V1, ...BODY, 403) },
    }),
    get: op('Beneficiaries', 'listBeneficiaries', 'List beneficiaries', {
      description: `${roles('admin', 'compliance', 'client')} Newest first.`,
      requestParams: { query: ListBeneficiaries },
      responses: { '200': json('A page of beneficiaries', page(Beneficiary)), ...errors(...V1, 403, 422) },
    }),
  },
  '/v1/beneficiaries/{id}': {
    get: op('Beneficiaries', 'getBeneficiary', 'Get a beneficiary', {
      description: roles('admin', 'compliance', 'client'),
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The beneficiary', Beneficiary), ...errors(...V1, 403, 404) },
    }),
  },
};
