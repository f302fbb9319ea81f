import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type * as Ibantools from 'ibantools' with { 'resolution-mode': 'require' };
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { PageQuery, pageOf, resolveCursor } from '../api/pagination';
import { CurrencyCode, parseInput, pathId, SafeText, Uuid } from '../api/validation';
import { canSeeCustomer, principalOf, requireRole } from '../auth/middleware';
import type { CurrencyService } from '../currencies/service';
import type { CustomerService } from '../customers/service';
import type { Db } from '../db/knex';

// ibantools ships CommonJS under an ESM package type: load its CommonJS build, typed by its declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { electronicFormatIBAN, isValidIBAN } = require('ibantools') as typeof Ibantools;

export type BeneficiaryRow = {
  id: string;
  customer_id: string;
  name: string;
  country: string;
  currency: string;
  bank_details: { iban?: string; account_number?: string; bank_code?: string };
  status: 'active' | 'disabled';
  created_at: Date;
};

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

export function beneficiaryRoutes(deps: { db: Db; customers: CustomerService; currencies: CurrencyService }): Router {
  const { db } = deps;
  const router = Router();

  router.post('/beneficiaries', requireRole('admin', 'client'), async (req, res) => {
    const principal = principalOf(req);
    const input = parseInput(CreateBeneficiary, req.body);
    const customer = await deps.customers.get(input.customer_id);
    if (!customer || !canSeeCustomer(principal, customer.id)) throw ApiError.of(ApiErrorCode.CustomerNotFound, 'No customer with this id.', '#/customer_id');
    await deps.currencies.requireUnits(input.currency, '#/currency');
    let bankDetails = input.bank_details;
    if ('iban' in bankDetails) {
      const iban = electronicFormatIBAN(bankDetails.iban) ?? '';
      if (!isValidIBAN(iban)) throw ApiError.of(ApiErrorCode.InvalidValue, 'Not a valid IBAN (country format or checksum).', '#/bank_details/iban');
      bankDetails = { iban };
    }
    const [row] = await db('beneficiaries')
      .insert({ id: randomUUID(), customer_id: customer.id, name: input.name, country: input.country, currency: input.currency, bank_details: JSON.stringify(bankDetails) })
      .returning<BeneficiaryRow[]>('*');
    res.status(201).location(`/v1/beneficiaries/${(row as BeneficiaryRow).id}`).json(presentBeneficiary(row as BeneficiaryRow));
  });

  router.get('/beneficiaries/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const row = await db('beneficiaries').where({ id: pathId(req.params.id) }).first<BeneficiaryRow | undefined>();
    if (!row || !canSeeCustomer(principalOf(req), row.customer_id)) throw ApiError.of(ApiErrorCode.NotFound, 'No beneficiary with this id.');
    res.json(presentBeneficiary(row));
  });

  router.get('/beneficiaries', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const principal = principalOf(req);
    const query = parseInput(ListBeneficiaries, req.query);
    const q = db('beneficiaries').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(query.limit + 1);
    if (principal.role === 'client') q.where({ customer_id: principal.customerId });
    if (query.customer_id) q.where({ customer_id: query.customer_id });
    // The cursor's beneficiary must be one the caller may see (as for GET /beneficiaries/:id).
    const after = await resolveCursor(query.cursor, z.object({ id: Uuid }), async (key) => {
      const named = await db('beneficiaries').where({ id: key.id }).first<Pick<BeneficiaryRow, 'customer_id'> | undefined>('customer_id');
      return named && canSeeCustomer(principal, named.customer_id);
    });
    if (after) q.whereRaw('(created_at, id) < (SELECT created_at, id FROM beneficiaries WHERE id = ?)', [after.id]);
    const rows = (await q) as BeneficiaryRow[];
    res.json(pageOf(rows, query.limit, presentBeneficiary));
  });

  return router;
}
