import type Decimal from 'decimal.js';
import { MAX_INTEGER_DIGITS, Money, roundForClient, roundToMinorUnits } from '../money/money';
import type { FixedFeeRule } from '../tariffs/schedule';
import { PricingRefusal, type PriceRefused } from './refusals';

const tooLarge = (amount: Money) => amount.abs().gte(new Money(10).pow(MAX_INTEGER_DIGITS));

/**
 * The price of moving money, as seeds 002/003 define it. Pure arithmetic: the quote endpoint, the
 * tariff calculator and the transfer workflow all call `computePrice`, so they cannot disagree.
 *
 * - `fx_rate` is source units per one target unit (source COP, target USD: ~4000).
 * - Without a client rate: fx_rate = market_rate * (1 + spread). A client's fx_rate is used as given.
 * - Given target: source_amount = target_amount * fx_rate + fixed_fee.
 * - Given source: target_amount = (source_amount - fixed_fee) / fx_rate.
 * - The computed amount is rounded to its currency's minor units in the house's favour: a computed
 *   target down, a computed source up (src/money roundForClient). Fees round half away from zero.
 * - Computed amounts are bounded like given ones (MAX_INTEGER_DIGITS), so they always fit the ledger.
 * - The spread fee is what the rate difference cost, in the source currency:
 *   target_amount * (fx_rate - market_rate), rounded; never below zero.
 * - Same currency: fx_rate = market_rate = 1 and no spread; only the fixed fee applies.
 */

export type CurrencyUnits = { code: string; minorUnits: number };

export type { FixedFeeRule };

export type PriceInput = {
  source: CurrencyUnits;
  target: CurrencyUnits;
  given: { side: 'source' | 'target'; amount: Decimal.Value };
  /** Target → source market rate (source units per target unit); ignored for same currency. */
  marketRate?: Decimal.Value;
  /** The client's all-in rate; when present the spread is not applied. */
  clientRate?: Decimal.Value;
  /** Spread as a fraction: 0.01 is 1%. */
  spread: Decimal.Value;
  /** The fixed fee in the source currency for a principal (in the source currency). */
  fixedFee: FixedFeeRule;
};

export type Price = {
  sourceAmount: Money;
  targetAmount: Money;
  marketRate: Money;
  fxRate: Money;
  fixedFee: Money;
  fixedFeeDescription: string | null;
  fixedFeeTariffRangeId: string | null;
  spreadFee: Money;
  /** Source-currency amount converted at the market rate: source - fixed fee - spread fee. */
  convertedAtMarket: Money;
};

export type PriceResult = { ok: true; price: Price } | { ok: false; error: PriceRefused };

const fail = (code: PriceRefused['code'], message: string): PriceResult => ({ ok: false, error: { code, message } });

export const isCrossCurrency = (input: Pick<PriceInput, 'source' | 'target'>) => input.source.code !== input.target.code;

export function computePrice(input: PriceInput): PriceResult {
  const cross = isCrossCurrency(input);
  const market = cross ? (input.marketRate === undefined ? undefined : new Money(input.marketRate)) : new Money(1);
  const spread = cross ? new Money(input.spread) : new Money(0);
  let fxRate: Money;
  if (!cross) fxRate = new Money(1);
  else if (input.clientRate !== undefined) fxRate = new Money(input.clientRate);
  else if (market) fxRate = market.times(spread.plus(1));
  else return fail(PricingRefusal.FxRateRequired, 'No market rate is available for this currency pair.');
  if (!fxRate.gt(0) || (market && !market.gt(0))) return fail(PricingRefusal.InvalidRate, 'Rates must be greater than zero.');
  const marketRate = market ?? fxRate;

  const given = new Money(input.given.amount);
  let sourceAmount: Money;
  let targetAmount: Money;
  let fee: ReturnType<FixedFeeRule>;
  let fixedFee: Money;
  if (input.given.side === 'target') {
    targetAmount = given;
    const converted = roundForClient(targetAmount.times(fxRate), input.source.minorUnits, 'pays');
    // The fee schedule is keyed on the amount the client gave, in the source currency: the source
    // amount when given, else target × fx_rate. (A fee cannot depend on itself, so there is no
    // "net of fee" principal when the source amount, which includes the fee, is the one given.)
    fee = input.fixedFee(converted);
    fixedFee = roundToMinorUnits(fee.amount, input.source.minorUnits);
    sourceAmount = converted.plus(fixedFee);
  } else {
    sourceAmount = given;
    fee = input.fixedFee(sourceAmount);
    fixedFee = roundToMinorUnits(fee.amount, input.source.minorUnits);
    targetAmount = roundForClient(sourceAmount.minus(fixedFee).div(fxRate), input.target.minorUnits, 'receives');
  }
  if (!targetAmount.gt(0) || !sourceAmount.minus(fixedFee).gt(0)) {
    return fail(PricingRefusal.AmountTooSmall, 'After fees and conversion nothing would arrive: the target amount rounds to zero.');
  }
  if (tooLarge(sourceAmount) || tooLarge(targetAmount)) {
    return fail(PricingRefusal.AmountTooLarge, `Converted amounts may have at most ${MAX_INTEGER_DIGITS} integer digits.`);
  }
  const rawSpread = roundToMinorUnits(targetAmount.times(fxRate.minus(marketRate)), input.source.minorUnits);
  // A rate better than the market is the house's cost, not a negative fee; it stays in the FX position.
  const spreadFee = Money.min(Money.max(rawSpread, 0), sourceAmount.minus(fixedFee));
  return {
    ok: true,
    price: {
      sourceAmount,
      targetAmount,
      marketRate,
      fxRate,
      fixedFee,
      fixedFeeDescription: fee.txDescription,
      fixedFeeTariffRangeId: fee.tariffRangeId,
      spreadFee,
      convertedAtMarket: sourceAmount.minus(fixedFee).minus(spreadFee),
    },
  };
}

/** No fee configured. */
export const noFee: FixedFeeRule = () => ({ amount: new Money(0), txDescription: null, tariffRangeId: null });
