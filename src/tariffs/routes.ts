import { Router } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { CurrencyCode, parseInput, pathId, SafeText } from '../api/validation';
import { principalOf, requireRole } from '../auth/middleware';
import type { CurrencyService } from '../currencies/service';
import { pricingErrorToApi } from '../fx/quotes';
import { Money } from '../money/money';
import { DecimalString, decimalWithPlaces, OverrideFeesSchema } from '../pricing/overrides';
import { buildPricingRequest } from '../pricing/request';
import type { PricingService } from '../pricing/service';
import { OPERATIONS } from './schedule';
import type { TariffService } from './service';

// tariff_ranges stores percentages as numeric(12, 6) and amounts as numeric(38, 8).
const Percentage = decimalWithPlaces(6).refine((p) => new Money(p).lt(100), 'Must be below 100');
const Amount = decimalWithPlaces(8);
const Range = z.strictObject({
  min_amount: Amount,
  max_amount: Amount.nullable(),
  fixed_amount: Amount.default('0'),
  percentage: Percentage.default('0'),
  min_fee: Amount.nullable().default(null),
  max_fee: Amount.nullable().default(null),
  tx_description: SafeText(255).nullable().default(null),
});
const Ranges = z.array(Range).min(1).max(50);
export const CreateTariff = z.strictObject({ operation: z.enum(OPERATIONS), currency: CurrencyCode, ranges: Ranges });
export const ReplaceRanges = z.strictObject({ ranges: Ranges });
export const Calculate = z.strictObject({
  operation: z.enum(OPERATIONS).optional(),
  source_currency: CurrencyCode,
  target_currency: CurrencyCode.optional(),
  source_amount: z.string().max(64).optional(),
  target_amount: z.string().max(64).optional(),
  fx_rate: DecimalString.optional(),
  override_fees: OverrideFeesSchema.optional(),
});

export function tariffRoutes(deps: { tariffs: TariffService; pricing: PricingService; currencies: CurrencyService }): Router {
  const router = Router();
  const withIds = (ranges: z.infer<typeof Ranges>) => ranges.map((r) => ({ ...r, id: null }));

  const currency = (code: string, path: string) => deps.currencies.requireUnits(code, path);

  router.get('/tariffs', requireRole('admin', 'compliance', 'client'), async (_req, res) => {
    res.json({ data: await deps.tariffs.list() });
  });

  router.post('/tariffs', requireRole('admin'), async (req, res) => {
    const input = parseInput(CreateTariff, req.body);
    await currency(input.currency, '#/currency');
    const tariff = await deps.tariffs.create({ operation: input.operation, currency: input.currency, ranges: withIds(input.ranges) });
    res.status(201).location(`/v1/tariffs/${tariff.id}`).json(tariff);
  });

  /** Answers what an operation would cost, with the same pricing as quotes and transfers; moves no money. */
  router.post('/tariffs/calculate', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const input = parseInput(Calculate, req.body);
    const source = await currency(input.source_currency, '#/source_currency');
    const target = await currency(input.target_currency ?? input.source_currency, '#/target_currency');
    const request = buildPricingRequest(principalOf(req), { source, target, operation: input.operation }, input);
    const priced = await deps.pricing.price(request);
    if (!priced.ok) throw pricingErrorToApi(priced, request.given.side === 'source' ? '#/source_amount' : '#/target_amount');
    const p = priced.price;
    res.json({
      operation_type: p.operation,
      market_rate: p.market_rate,
      fx_rate: p.fx_rate,
      source_amount: { amount: p.source_amount, currency: p.source_currency },
      target_amount: { amount: p.target_amount, currency: p.target_currency },
      calculated_fees: p.calculated_fees,
    });
  });

  router.get('/tariffs/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const tariff = await deps.tariffs.get(pathId(req.params.id));
    if (!tariff) throw ApiError.of(ApiErrorCode.NotFound, 'No tariff with this id.');
    res.json(tariff);
  });

  router.put('/tariffs/:id', requireRole('admin'), async (req, res) => {
    const input = parseInput(ReplaceRanges, req.body);
    const tariff = await deps.tariffs.replaceRanges(pathId(req.params.id), withIds(input.ranges));
    if (!tariff) throw ApiError.of(ApiErrorCode.NotFound, 'No tariff with this id.');
    res.json(tariff);
  });

  router.delete('/tariffs/:id', requireRole('admin'), async (req, res) => {
    if (!(await deps.tariffs.remove(pathId(req.params.id)))) throw ApiError.of(ApiErrorCode.NotFound, 'No tariff with this id.');
    res.status(204).end();
  });

  return router;
}
