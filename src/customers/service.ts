import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';

export type CustomerRow = {
  id: string;
  name: string;
  country: string;
  status: 'active' | 'suspended' | 'closed';
  created_at: Date;
  updated_at: Date;
};

export function createCustomerService(deps: { db: Db }) {
  const { db } = deps;
  return {
    async create(input: { name: string; country: string }): Promise<CustomerRow> {
      const [row] = await db('customers').insert({ id: randomUUID(), name: input.name, country: input.country }).returning('*');
      return row as CustomerRow;
    },
    async get(id: string): Promise<CustomerRow | undefined> {
      return db('customers').where({ id }).first<CustomerRow | undefined>();
    },
    async setStatus(id: string, status: CustomerRow['status']): Promise<void> {
      await db('customers').where({ id }).update({ status, updated_at: db.fn.now() });
    },
  };
}

export type CustomerService = ReturnType<typeof createCustomerService>;

export const presentCustomer = (c: CustomerRow) => ({
  id: c.id,
  name: c.name,
  country: c.country,
  status: c.status,
  created_at: c.created_at,
});
