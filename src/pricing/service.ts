import { randomBytes } from 'node:crypto';
import type { CurrencyService } from '../currencies/service';
import type { RateProvider } from '../fx/rates';
import type { SpreadService } from '../fx/spreads';
import { formatAmount, Money } from '../money/money';
import type { Operation } from '../tariffs/schedule';
import { scheduleFeeRule } from '../tariffs/schedule';
import type { TariffService } from '../tariffs/service';
import { computePrice, isCrossCurrency, type FixedFeeRule } from './price';
import { PricingRefusal, type PriceRefused } from './refusals';

/** Seed 002's override_fees, already checked against the source currency (src/pricing/overrides.ts). */
export type FeeOverrides = { fixedAmount?: string; txDescription?: string; spreadPercentage?: string };

export type PricingRequest = {
  /** Defaults from the currencies: account_to_account, or account_to_account_fx across currencies. */
  operation?: Operation;
  sourceCurrency: string;
  targetCurrency: string;
  given: { side: 'source' | 'target'; amount: string };
  /** A client's all-in fx_rate (source units per target unit). */
  clientRate?: string;
  overrides?: FeeOverrides;
};

export type FeeLine = { amount: { amount: string; currency: string }; id: string; tx_description: string | null };

/** A price as recorded (on quotes and transfers) and shown: decimal strings throughout. */
export type PriceRecord = {
  operation: Operation;
  source_currency: string;
  target_currency: string;
  given_side: 'source' | 'target';
  source_amount: string;
  target_amount: string;
  market_rate: string;
  fx_rate: string;
  spread_percentage: string;
  fixed_fee: string;
  spread_fee: string;
  converted_at_market: string;
  rate_as_of: string | null;
  calculated_fees: Record<string, FeeLine>;
};

export type PricingResult = { ok: true; price: PriceRecord } | { ok: false; error: PriceRefused };

/** Fee ids in the seeds' resource-id shape (`fee_` + 22 characters). */
const newFeeId = () => `fee_${randomBytes(16).toString('base64url')}`;

export const defaultOperation = (sourceCurrency: string, targetCurrency: string): Operation =>
  sourceCurrency === targetCurrency ? 'account_to_account' : 'account_to_account_fx';

/** The spread fee's name in calculated_fees, next to the fixed fee of the operation. */
export const SPREAD_FEE = 'account_to_account_fx_spread';

/**
 * Prices an operation from current data: market rate (refused when older than `maxRateAgeMs`),
 * spread, and the operation's fee schedule in the source currency; the arithmetic is computePrice's.
 */
export function createPricingService(deps: {
  currencies: CurrencyService;
  rates: RateProvider;
  spreads: SpreadService;
  tariffs: TariffService;
  maxRateAgeMs: number;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());

  async function price(req: PricingRequest): Promise<PricingResult> {
    const [sourceUnits, targetUnits] = await Promise.all([deps.currencies.minorUnits(req.sourceCurrency), deps.currencies.minorUnits(req.targetCurrency)]);
    const source = { code: req.sourceCurrency, minorUnits: sourceUnits };
    const target = { code: req.targetCurrency, minorUnits: targetUnits };
    const cross = isCrossCurrency({ source, target });
    const operation = req.operation ?? defaultOperation(req.sourceCurrency, req.targetCurrency);

    let marketRate: string | undefined;
    let rateAsOf: Date | null = null;
    if (cross) {
      // fx_rate is source units per target unit: the market's target→source rate.
      const rate = await deps.rates.getRate(req.targetCurrency, req.sourceCurrency);
      const fresh = rate !== undefined && now().getTime() - rate.asOf.getTime() <= deps.maxRateAgeMs;
      if (fresh) {
        marketRate = rate.rate;
        rateAsOf = rate.asOf;
      } else if (req.clientRate === undefined) {
        // Seed 002: a given fx_rate is used as it is; without one, the market rate must be current.
        return rate
          ? { ok: false, error: { code: PricingRefusal.FxRateStale, message: `The ${req.targetCurrency}/${req.sourceCurrency} rate is older than allowed.` } }
          : { ok: false, error: { code: PricingRefusal.FxRateUnavailable, message: `No market rate for ${req.targetCurrency}/${req.sourceCurrency}.` } };
      }
      // With a given rate and no current market rate, market_rate is the given rate: no spread is booked.
    }
    const spreadPercentage = cross ? (req.overrides?.spreadPercentage ?? (await deps.spreads.percentageFor(req.sourceCurrency, req.targetCurrency))) : '0';
    const scheduleRule = scheduleFeeRule(await deps.tariffs.scheduleFor(operation, req.sourceCurrency), sourceUnits);
    const fixedFee: FixedFeeRule = (principal) => {
      const scheduled = scheduleRule(principal);
      const o = req.overrides;
      return {
        amount: o?.fixedAmount !== undefined ? new Money(o.fixedAmount) : scheduled.amount,
        txDescription: o?.txDescription ?? scheduled.txDescription,
        tariffRangeId: o?.fixedAmount !== undefined ? null : scheduled.tariffRangeId,
      };
    };

    const result = computePrice({
      source,
      target,
      given: req.given,
      marketRate,
      clientRate: cross ? req.clientRate : undefined,
      spread: new Money(spreadPercentage).div(100),
      fixedFee,
    });
    if (!result.ok) return result;
    const p = result.price;
    const fee = (amount: Money, tx: string | null): FeeLine => ({
      amount: { amount: formatAmount(amount, sourceUnits), currency: req.sourceCurrency },
      id: newFeeId(),
      tx_description: tx,
    });
    const calculatedFees: Record<string, FeeLine> = { [operation]: fee(p.fixedFee, p.fixedFeeDescription) };
    if (cross) calculatedFees[SPREAD_FEE] = fee(p.spreadFee, null);
    return {
      ok: true,
      price: {
        operation,
        source_currency: req.sourceCurrency,
        target_currency: req.targetCurrency,
        given_side: req.given.side,
        source_amount: formatAmount(p.sourceAmount, sourceUnits),
        target_amount: formatAmount(p.targetAmount, targetUnits),
        market_rate: p.marketRate.toString(),
        fx_rate: p.fxRate.toString(),
        spread_percentage: new Money(spreadPercentage).toString(),
        fixed_fee: formatAmount(p.fixedFee, sourceUnits),
        spread_fee: formatAmount(p.spreadFee, sourceUnits),
        converted_at_market: formatAmount(p.convertedAtMarket, sourceUnits),
        rate_as_of: rateAsOf ? rateAsOf.toISOString() : null,
        calculated_fees: calculatedFees,
      },
    };
  }

  return { price };
}

export type PricingService = ReturnType<typeof createPricingService>;
