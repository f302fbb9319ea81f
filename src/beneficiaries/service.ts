import { randomUUID } from 'node:crypto';
import type * as Ibantools from 'ibantools' with { 'resolution-mode': 'require' };
import { canSeeCustomer } from '../auth/middleware';
import type { Principal } from '../auth/service';
import type { CurrencyService } from '../currencies/service';
import { CustomerRefusal } from '../customers/refusals';
import type { CustomerService } from '../customers/service';
import type { Db } from '../db/knex';
import { Refusal } from '../refusal';
import { BeneficiaryRefusal } from './refusals';

// ibantools ships CommonJS under an ESM package type: load its CommonJS build, typed by its declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { electronicFormatIBAN, isValidIBAN } = require('ibantools') as typeof Ibantools;

export type BankDetails = { iban: string } | { account_number: string; bank_code: string };

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

export type NewBeneficiary = { customer_id: string; name: string; country: string; currency: string; bank_details: BankDetails };

/** Who a customer pays out to: a name, a country, a currency and bank details (an IBAN, checked, or an account number with a bank code). */
export function createBeneficiaryService(deps: { db: Db; customers: CustomerService; currencies: CurrencyService }) {
  const { db } = deps;

  async function create(principal: Principal, input: NewBeneficiary): Promise<BeneficiaryRow> {
    const customer = await deps.customers.get(input.customer_id);
    if (!customer || !canSeeCustomer(principal, customer.id)) throw new Refusal(CustomerRefusal.NotFound, 'No customer with this id.', '#/customer_id');
    await deps.currencies.requireUnits(input.currency, '#/currency');
    let bankDetails = input.bank_details;
    if ('iban' in bankDetails) {
      const iban = electronicFormatIBAN(bankDetails.iban) ?? '';
      if (!isValidIBAN(iban)) throw new Refusal(BeneficiaryRefusal.InvalidIban, 'Not a valid IBAN (country format or checksum).', '#/bank_details/iban');
      bankDetails = { iban };
    }
    const [row] = await db('beneficiaries')
      .insert({ id: randomUUID(), customer_id: customer.id, name: input.name, country: input.country, currency: input.currency, bank_details: JSON.stringify(bankDetails) })
      .returning<BeneficiaryRow[]>('*');
    return row as BeneficiaryRow;
  }

  /** The beneficiary, if the caller may see it (a client key: its own customer's). */
  async function getVisible(principal: Principal, id: string): Promise<BeneficiaryRow | undefined> {
    const row = await db('beneficiaries').where({ id }).first<BeneficiaryRow | undefined>();
    return row && canSeeCustomer(principal, row.customer_id) ? row : undefined;
  }

  /** Newest first, `limit` of them after the `afterId` beneficiary; a client key lists its own customer's only. */
  async function list(principal: Principal, filter: { customerId?: string; limit: number; afterId?: string }): Promise<BeneficiaryRow[]> {
    const q = db('beneficiaries').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(filter.limit);
    if (principal.role === 'client') q.where({ customer_id: principal.customerId });
    if (filter.customerId) q.where({ customer_id: filter.customerId });
    if (filter.afterId) q.whereRaw('(created_at, id) < (SELECT created_at, id FROM beneficiaries WHERE id = ?)', [filter.afterId]);
    return (await q) as BeneficiaryRow[];
  }

  return { create, getVisible, list };
}

export type BeneficiaryService = ReturnType<typeof createBeneficiaryService>;
