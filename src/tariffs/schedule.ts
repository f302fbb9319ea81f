import type Decimal from 'decimal.js';
import { Money, roundToMinorUnits } from '../money/money';

/** Fee operations of seed 002 (and the payouts of a later issue). */
export const OPERATIONS = ['account_to_account', 'account_to_account_fx', 'payout'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** One range of a fee schedule: for principals in [min_amount, max_amount) (max null = no upper bound). */
export type TariffRange = {
  id: string | null;
  min_amount: string;
  max_amount: string | null;
  fixed_amount: string;
  /** Percent of the principal: "0.5" is 0.5%. */
  percentage: string;
  min_fee: string | null;
  max_fee: string | null;
  tx_description: string | null;
};

export type RangeProblem = { index: number; field: keyof TariffRange; message: string };

/** A fee schedule's answer for one amount (the principal, in the source currency): what pricing charges as the fixed fee. */
export type FixedFeeRule = (principal: Money) => { amount: Money; txDescription: string | null; tariffRangeId: string | null };

/**
 * A schedule's ranges must tile [0, ∞) without overlap or gap: sorted, starting at 0, each starting
 * where the previous ended, only the last open-ended. Returns every problem found.
 */
export function validateRanges(ranges: TariffRange[]): RangeProblem[] {
  const problems: RangeProblem[] = [];
  if (ranges.length === 0) return [{ index: 0, field: 'min_amount', message: 'A schedule needs at least one range.' }];
  ranges.forEach((r, i) => {
    const min = new Money(r.min_amount);
    if (i === 0 && !min.isZero()) problems.push({ index: i, field: 'min_amount', message: 'The first range must start at 0.' });
    const prev = ranges[i - 1];
    if (prev) {
      if (prev.max_amount === null) {
        problems.push({ index: i - 1, field: 'max_amount', message: 'Only the last range may be open-ended.' });
      } else if (!new Money(prev.max_amount).eq(min)) {
        const kind = new Money(prev.max_amount).gt(min) ? 'overlaps' : 'leaves a gap after';
        problems.push({ index: i, field: 'min_amount', message: `This range ${kind} the previous one: it must start at ${prev.max_amount}.` });
      }
    }
    if (r.max_amount !== null && !new Money(r.max_amount).gt(min)) {
      problems.push({ index: i, field: 'max_amount', message: 'max_amount must be greater than min_amount.' });
    }
    if (r.min_fee !== null && r.max_fee !== null && new Money(r.min_fee).gt(r.max_fee)) {
      problems.push({ index: i, field: 'min_fee', message: 'min_fee must not exceed max_fee.' });
    }
  });
  const last = ranges[ranges.length - 1];
  if (last && last.max_amount !== null) {
    problems.push({ index: ranges.length - 1, field: 'max_amount', message: 'The last range must be open-ended (max_amount null).' });
  }
  return problems;
}

/** The range that prices a principal. */
export function rangeFor(ranges: TariffRange[], principal: Decimal.Value): TariffRange | undefined {
  const p = new Money(principal);
  return ranges.find((r) => p.gte(r.min_amount) && (r.max_amount === null || p.lt(r.max_amount)));
}

/** fee = fixed + principal × percentage / 100, clamped to [min_fee, max_fee], rounded to the currency. */
export function feeFor(range: TariffRange, principal: Decimal.Value, minorUnits: number): Money {
  let fee = new Money(range.fixed_amount).plus(new Money(principal).times(range.percentage).div(100));
  if (range.min_fee !== null) fee = Money.max(fee, range.min_fee);
  if (range.max_fee !== null) fee = Money.min(fee, range.max_fee);
  return roundToMinorUnits(fee, minorUnits);
}

/** The fixed-fee rule of a schedule, for the pricing module. No schedule: no fee. */
export function scheduleFeeRule(ranges: TariffRange[] | undefined, minorUnits: number): FixedFeeRule {
  return (principal) => {
    const range = ranges && rangeFor(ranges, principal);
    if (!range) return { amount: new Money(0), txDescription: null, tariffRangeId: null };
    return { amount: feeFor(range, principal, minorUnits), txDescription: range.tx_description, tariffRangeId: range.id };
  };
}
