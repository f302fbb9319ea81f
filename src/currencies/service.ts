import type { Db } from '../db/knex';
import { Refusal } from '../refusal';
import { CurrencyRefusal } from './refusals';

export type Currency = { code: string; minor_units: number; name: string };

/**
 * ISO 4217 currencies and their minor units, read from the `currencies` table (seeded by migration)
 * once and cached: they change only through a migration.
 */
export function createCurrencyService(deps: { db: Db }) {
  let cache: Promise<Map<string, Currency>> | undefined;
  const all = () => {
    cache ??= deps.db('currencies').select<Currency[]>('code', 'minor_units', 'name').then((rows) => new Map(rows.map((r) => [r.code.trim(), r])));
    cache.catch(() => (cache = undefined));
    return cache;
  };
  return {
    async find(code: string): Promise<Currency | undefined> {
      return (await all()).get(code);
    },
    async minorUnits(code: string): Promise<number> {
      const c = (await all()).get(code.trim());
      if (!c) throw new Error(`Unknown currency ${code}`);
      return c.minor_units;
    },
    /** A supported currency with its minor units; refused, naming the input that gave it, otherwise. */
    async requireUnits(code: string, path: string): Promise<{ code: string; minorUnits: number }> {
      const c = (await all()).get(code);
      if (!c) throw new Refusal(CurrencyRefusal.NotSupported, `Currency ${code} is not supported.`, path);
      return { code: c.code.trim(), minorUnits: c.minor_units };
    },
    async list(): Promise<Currency[]> {
      return [...(await all()).values()];
    },
  };
}

export type CurrencyService = ReturnType<typeof createCurrencyService>;
