import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import { isPgError, PG_UNIQUE_VIOLATION } from '../db/knex';
import { Refusal } from '../refusal';
import { TariffRefusal } from './refusals';
import { Money } from '../money/money';
import { validateRanges, type Operation, type TariffRange } from './schedule';

export type Tariff = { id: string; operation: Operation; currency: string; ranges: TariffRange[]; created_at: Date; updated_at: Date };
type TariffRow = Omit<Tariff, 'ranges'>;
type RangeRow = TariffRange & { id: string; tariff_id: string; position: number };

const canonical = (v: string | null) => (v === null ? null : new Money(v).toString());
const presentRange = (r: RangeRow): TariffRange => ({
  id: r.id,
  min_amount: canonical(r.min_amount) as string,
  max_amount: canonical(r.max_amount),
  fixed_amount: canonical(r.fixed_amount) as string,
  percentage: canonical(r.percentage) as string,
  min_fee: canonical(r.min_fee),
  max_fee: canonical(r.max_fee),
  tx_description: r.tx_description,
});

/** Fee schedules, one per operation and currency; a schedule's ranges are always written whole. */
export function createTariffService(deps: { db: Db }) {
  const { db } = deps;

  async function withRanges(rows: TariffRow[]): Promise<Tariff[]> {
    if (rows.length === 0) return [];
    const ranges = (await db('tariff_ranges').whereIn('tariff_id', rows.map((r) => r.id)).orderBy(['tariff_id', 'position'])) as RangeRow[];
    return rows.map((t) => ({ ...t, currency: t.currency.trim(), ranges: ranges.filter((r) => r.tariff_id === t.id).map(presentRange) }));
  }

  function assertValid(ranges: TariffRange[]): void {
    const problems = validateRanges(ranges);
    if (problems.length) {
      const listed = problems.map((p) => ({ message: p.message, path: `#/ranges/${p.index}/${p.field}` }));
      throw new Refusal(TariffRefusal.InvalidRanges, 'The ranges do not tile [0, ∞) without gap or overlap.', null, listed);
    }
  }

  async function writeRanges(trx: Db, tariffId: string, ranges: TariffRange[]) {
    await trx('tariff_ranges').where({ tariff_id: tariffId }).delete();
    await trx('tariff_ranges').insert(ranges.map((r, position) => ({ ...r, id: randomUUID(), tariff_id: tariffId, position })));
  }

  return {
    async list(): Promise<Tariff[]> {
      return withRanges(await db('tariffs').orderBy(['operation', 'currency']));
    },
    async get(id: string): Promise<Tariff | undefined> {
      const [t] = await withRanges(await db('tariffs').where({ id }));
      return t;
    },
    /** The ranges that price an operation in a currency, or undefined when it is free. */
    async scheduleFor(operation: Operation, currency: string): Promise<TariffRange[] | undefined> {
      // One statement: a schedule replaced or deleted meanwhile is seen whole or not at all.
      const rows = (await db('tariffs')
        .join('tariff_ranges', 'tariff_ranges.tariff_id', 'tariffs.id')
        .where({ 'tariffs.operation': operation, 'tariffs.currency': currency })
        .orderBy('tariff_ranges.position')
        .select('tariff_ranges.*')) as RangeRow[];
      return rows.length ? rows.map(presentRange) : undefined;
    },
    async create(input: { operation: Operation; currency: string; ranges: TariffRange[] }): Promise<Tariff> {
      assertValid(input.ranges);
      const id = randomUUID();
      try {
        await db.transaction(async (trx) => {
          await trx('tariffs').insert({ id, operation: input.operation, currency: input.currency });
          await writeRanges(trx, id, input.ranges);
        });
      } catch (err) {
        if (isPgError(err, PG_UNIQUE_VIOLATION, 'tariffs_operation_currency_uq')) {
          throw new Refusal(TariffRefusal.Exists, `A ${input.operation} tariff for ${input.currency} exists: replace its ranges instead.`, '#/operation');
        }
        throw err;
      }
      return (await this.get(id)) as Tariff;
    },
    async replaceRanges(id: string, ranges: TariffRange[]): Promise<Tariff | undefined> {
      assertValid(ranges);
      const found = await db.transaction(async (trx) => {
        const updated = await trx('tariffs').where({ id }).update({ updated_at: trx.fn.now() });
        if (updated === 0) return false;
        await writeRanges(trx, id, ranges);
        return true;
      });
      return found ? this.get(id) : undefined;
    },
    async remove(id: string): Promise<boolean> {
      return (await db('tariffs').where({ id }).delete()) > 0;
    },
  };
}

export type TariffService = ReturnType<typeof createTariffService>;
