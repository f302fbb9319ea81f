import type { Db } from '../db/knex';
import { Money } from '../money/money';

export type Spread = { source_currency: string; target_currency: string; percentage: string };
export const DEFAULT_PAIR = '*';

/** FX markup per source/target pair, falling back to the default ('*'/'*'). Percentages: "1" is 1%. */
export function createSpreadService(deps: { db: Db }) {
  const { db } = deps;
  const present = (s: Spread) => ({ ...s, percentage: new Money(s.percentage).toString() });
  return {
    async list(): Promise<Spread[]> {
      return ((await db('fx_spreads').select('source_currency', 'target_currency', 'percentage').orderBy(['source_currency', 'target_currency'])) as Spread[]).map(present);
    },
    /** The percentage for a pair: its own, else the default. */
    async percentageFor(source: string, target: string): Promise<string> {
      const rows = (await db('fx_spreads')
        .whereIn(['source_currency', 'target_currency'], [
          [source, target],
          [DEFAULT_PAIR, DEFAULT_PAIR],
        ])
        .select('source_currency', 'percentage')) as Array<{ source_currency: string; percentage: string }>;
      const own = rows.find((r) => r.source_currency !== DEFAULT_PAIR) ?? rows[0];
      return own ? own.percentage : '0';
    },
    async put(source: string, target: string, percentage: string): Promise<Spread> {
      await db('fx_spreads')
        .insert({ source_currency: source, target_currency: target, percentage })
        .onConflict(['source_currency', 'target_currency'])
        .merge({ percentage, updated_at: db.fn.now() });
      return present({ source_currency: source, target_currency: target, percentage });
    },
    async remove(source: string, target: string): Promise<boolean> {
      return (await db('fx_spreads').where({ source_currency: source, target_currency: target }).delete()) > 0;
    },
  };
}

export type SpreadService = ReturnType<typeof createSpreadService>;
