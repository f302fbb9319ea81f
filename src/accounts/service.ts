import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import type { Principal } from '../auth/service';
import { Refusal } from '../refusal';
import { CurrencyRefusal } from '../currencies/refusals';
import { CustomerRefusal } from '../customers/refusals';
import { canSeeCustomer } from '../auth/middleware';
import type { CurrencyService } from '../currencies/service';
import type { CustomerService } from '../customers/service';
import type { LedgerService } from '../ledger/service';
import type { AccountWithCurrency } from '../ledger/model';

export function createAccountService(deps: { db: Db; ledger: LedgerService; customers: CustomerService; currencies: CurrencyService }) {
  const { db, ledger, customers, currencies } = deps;

  async function create(principal: Principal, input: { customer_id: string; currency: string }): Promise<AccountWithCurrency> {
    const customer = await customers.get(input.customer_id);
    if (!customer || !canSeeCustomer(principal, customer.id)) {
      throw new Refusal(CustomerRefusal.NotFound, 'No customer with this id.', '#/customer_id');
    }
    if (!(await currencies.find(input.currency))) {
      throw new Refusal(CurrencyRefusal.NotSupported, `Currency ${input.currency} is not supported.`, '#/currency');
    }
    const id = randomUUID();
    await db('accounts').insert({ id, customer_id: customer.id, currency: input.currency, kind: 'customer' });
    return (await ledger.getAccount(id)) as AccountWithCurrency;
  }

  /** The account if the principal may see it; customer accounts only (system accounts are internal). */
  async function getVisible(principal: Principal, id: string): Promise<AccountWithCurrency | undefined> {
    return visibleTo(principal, await ledger.getAccount(id));
  }

  return { create, getVisible };
}

/** The account if it is a customer account the principal may see. */
export function visibleTo(principal: Principal, account: AccountWithCurrency | undefined): AccountWithCurrency | undefined {
  return account && account.kind === 'customer' && canSeeCustomer(principal, account.customer_id) ? account : undefined;
}

export type AccountService = ReturnType<typeof createAccountService>;
