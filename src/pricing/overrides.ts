import { z } from 'zod';
import { DecimalString, SafeText } from '../http/validation';
import { Money } from '../money/money';
import { Refusal } from '../refusal';
import type { Operation } from '../tariffs/schedule';
import { PricingRefusal } from './refusals';
import { SPREAD_FEE, type FeeOverrides } from './service';

/** Seed 002: override_fees is a list of {type, fixed?: {amount, currency}, tx_description?, percentage?}. */
export const OverrideFeesSchema = z
  .array(
    z.strictObject({
      type: z.enum(['account_to_account', 'account_to_account_fx', SPREAD_FEE, 'payout']),
      fixed: z.strictObject({ amount: DecimalString, currency: z.string() }).optional(),
      tx_description: SafeText(255).optional(),
      percentage: DecimalString.optional(),
    }),
  )
  .max(3);

/**
 * Turns override_fees into the pricing service's overrides, for an operation whose fixed fee is
 * `operation` and (across currencies) whose spread is SPREAD_FEE. Fixed amounts must be in the
 * source currency with its minor units; spread percentages below 100.
 */
export function parseFeeOverrides(
  list: z.infer<typeof OverrideFeesSchema> | undefined,
  ctx: { operation: Operation; sourceCurrency: string; sourceMinorUnits: number; crossCurrency: boolean },
  basePath = '#/override_fees',
): FeeOverrides | undefined {
  if (!list || list.length === 0) return undefined;
  const out: FeeOverrides = {};
  list.forEach((o, i) => {
    const path = `${basePath}/${i}`;
    const bad = (message: string, field = 'type') => new Refusal(PricingRefusal.InvalidFeeOverride, message, `${path}/${field}`);
    if (o.type === ctx.operation) {
      if (o.percentage !== undefined) throw bad(`${o.type} is a fixed fee: override its fixed amount or tx_description.`, 'percentage');
      if (o.fixed) {
        if (o.fixed.currency !== ctx.sourceCurrency) throw bad(`The fixed fee is charged in the source currency, ${ctx.sourceCurrency}.`, 'fixed/currency');
        // As strict as amounts: "1.500" USD is refused, not read as 1.50.
        if ((o.fixed.amount.split('.')[1] ?? '').length > ctx.sourceMinorUnits) {
          throw bad(`${ctx.sourceCurrency} allows at most ${ctx.sourceMinorUnits} decimal places.`, 'fixed/amount');
        }
        out.fixedAmount = o.fixed.amount;
      }
      if (o.tx_description !== undefined) out.txDescription = o.tx_description;
    } else if (o.type === SPREAD_FEE && ctx.crossCurrency) {
      if (o.fixed || o.tx_description !== undefined) throw bad('The spread fee takes only a percentage.', 'fixed');
      if (o.percentage === undefined) throw bad('Give the spread percentage.', 'percentage');
      if (!new Money(o.percentage).lt(100)) throw bad('The spread percentage must be below 100.', 'percentage');
      out.spreadPercentage = o.percentage;
    } else {
      throw bad(`This operation's fees are ${ctx.operation}${ctx.crossCurrency ? ` and ${SPREAD_FEE}` : ''}.`);
    }
  });
  return out;
}
