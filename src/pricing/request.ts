import type { z } from 'zod';
import type { Principal } from '../auth/service';
import { Money, requireAmount } from '../money/money';
import { Refusal } from '../refusal';
import type { Operation } from '../tariffs/schedule';
import { parseFeeOverrides, type OverrideFeesSchema } from './overrides';
import { PricingRefusal } from './refusals';
import { defaultOperation, type PricingRequest } from './service';

export type PriceFields = {
  source_amount?: string;
  target_amount?: string;
  fx_rate?: string;
  override_fees?: z.infer<typeof OverrideFeesSchema>;
};

/**
 * The request-side rules shared by transfers, quotes and the tariff calculator: exactly one amount,
 * each valid for its own currency; fx_rate only across currencies; fx_rate and override_fees only for
 * admin keys (they set the price, which is the platform's to decide, not a customer's).
 */
export function buildPricingRequest(
  principal: Principal,
  ctx: { source: { code: string; minorUnits: number }; target: { code: string; minorUnits: number }; operation?: Operation },
  fields: PriceFields,
): PricingRequest {
  if ((fields.source_amount === undefined) === (fields.target_amount === undefined)) {
    throw new Refusal(PricingRefusal.OneAmountRequired, 'Give exactly one of source_amount or target_amount.', '#/source_amount');
  }
  const given =
    fields.source_amount !== undefined
      ? { side: 'source' as const, amount: requireAmount(fields.source_amount, ctx.source.minorUnits, '#/source_amount').toString() }
      : { side: 'target' as const, amount: requireAmount(fields.target_amount, ctx.target.minorUnits, '#/target_amount').toString() };
  const cross = ctx.source.code !== ctx.target.code;
  for (const field of ['fx_rate', 'override_fees'] as const) {
    if (fields[field] !== undefined && principal.role !== 'admin') {
      throw new Refusal(PricingRefusal.PriceSettingNotAllowed, `Only admin keys may set ${field}.`, `#/${field}`);
    }
  }
  if (fields.fx_rate !== undefined) {
    if (!cross) throw new Refusal(PricingRefusal.FxRateNotApplicable, 'fx_rate applies only between different currencies.', '#/fx_rate');
    if (!new Money(fields.fx_rate).gt(0)) throw new Refusal(PricingRefusal.InvalidRate, 'fx_rate must be greater than zero.', '#/fx_rate');
  }
  const operation = ctx.operation ?? defaultOperation(ctx.source.code, ctx.target.code);
  return {
    operation,
    sourceCurrency: ctx.source.code,
    targetCurrency: ctx.target.code,
    given,
    clientRate: fields.fx_rate,
    overrides: parseFeeOverrides(fields.override_fees, {
      operation,
      sourceCurrency: ctx.source.code,
      sourceMinorUnits: ctx.source.minorUnits,
      crossCurrency: cross,
    }),
  };
}
