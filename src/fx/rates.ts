import type { Db } from '../db/knex';
import { Money } from '../money/money';
import { Refusal } from '../refusal';
import { FxRefusal } from './refusals';

/** 1 `base` = `rate` `quote`, observed at `asOf` from `source`. */
export type MarketRate = { base: string; quote: string; rate: string; asOf: Date; source: string };

/**
 * Where market rates come from. The built-in provider reads the fx_rates table (filled by admins
 * or a feed job through PUT /v1/fx/rates); a live feed can implement this and be passed instead.
 */
export interface RateProvider {
  getRate(base: string, quote: string): Promise<MarketRate | undefined>;
}

type RateRow = { base: string; quote: string; rate: string; as_of: Date; source: string; updated_at: Date };
const toRate = (r: RateRow): MarketRate => ({ base: r.base.trim(), quote: r.quote.trim(), rate: r.rate, asOf: r.as_of, source: r.source });

/** Digits kept for an inverse rate: fx_rates.rate is numeric(38, 18). */
const RATE_DECIMALS = 18;
/** How far ahead of this server's clock a rate's as_of may be: feeds' clocks differ a little. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export function createTableRateProvider(db: Db): RateProvider {
  return {
    async getRate(base, quote) {
      const row = await db('fx_rates').where({ base, quote }).first<RateRow | undefined>();
      return row ? toRate(row) : undefined;
    },
  };
}

export function createFxRateService(deps: { db: Db }) {
  const { db } = deps;
  return {
    async list(): Promise<MarketRate[]> {
      return ((await db('fx_rates').orderBy(['base', 'quote'])) as RateRow[]).map(toRate);
    },
    /**
     * Stores a pair and its inverse in one transaction, so base→quote and quote→base never disagree
     * (the inverse is 1/rate rounded to 18 decimals).
     */
    async put(input: { base: string; quote: string; rate: string; asOf: Date; source: string }): Promise<MarketRate> {
      if (input.base === input.quote) throw new Refusal(FxRefusal.SameCurrency, 'A rate needs two different currencies.', '#/quote');
      if (input.asOf.getTime() > Date.now() + MAX_CLOCK_SKEW_MS) throw new Refusal(FxRefusal.FromTheFuture, 'as_of cannot be in the future.', '#/as_of');
      const rate = new Money(input.rate);
      const inverse = new Money(1).div(rate).toDecimalPlaces(RATE_DECIMALS);
      // Both rows in one statement, so concurrent writes of a pair and of its inverse cannot
      // deadlock; a write older than the stored rate (a late feed message) changes nothing.
      await db.raw(
        `INSERT INTO fx_rates (base, quote, rate, as_of, source) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)
         ON CONFLICT (base, quote) DO UPDATE
           SET rate = excluded.rate, as_of = excluded.as_of, source = excluded.source, updated_at = now()
           WHERE excluded.as_of >= fx_rates.as_of`,
        [
          ...[input.base, input.quote, rate.toString(), input.asOf, input.source],
          ...[input.quote, input.base, inverse.toString(), input.asOf, input.source],
        ],
      );
      // What is stored now: the new rate, or a newer one the write did not replace.
      const stored = await db('fx_rates').where({ base: input.base, quote: input.quote }).first<RateRow>();
      return toRate(stored);
    },
  };
}

export type FxRateService = ReturnType<typeof createFxRateService>;

export const presentRate = (r: MarketRate) => ({
  base: r.base,
  quote: r.quote,
  rate: new Money(r.rate).toString(),
  as_of: r.asOf,
  source: r.source,
});
