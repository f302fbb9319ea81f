import { Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../auth/middleware';
import type { CurrencyService } from '../currencies/service';
import { ApiError, HttpErrorCode } from '../http/errors';
import { body, currencyPath, Decimal, errors, json, list, noContent, op, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { CurrencyCode, DecimalString, decimalWithPlaces, parseInput, SafeText } from '../http/validation';
import { Money } from '../money/money';
import { presentRate, type FxRateService } from './rates';
import { DEFAULT_PAIR, type SpreadService, type Spread as SpreadRow } from './spreads';

export const PutRate = z.strictObject({
  rate: DecimalString.refine((r) => new Money(r).gt(0), 'The rate must be greater than zero'),
  as_of: z.iso.datetime({ offset: true }).optional(),
  source: SafeText(100).optional(),
});
// fx_spreads.percentage is numeric(12, 6).
export const PutSpread = z.strictObject({ percentage: decimalWithPlaces(6).refine((p) => new Money(p).lt(100), 'Must be below 100') });

/** A currency in a path: a malformed one names no resource (404); a well-formed one must be supported (422). */
function pathCurrency(value: unknown, name: string): string {
  const r = CurrencyCode.safeParse(value);
  if (!r.success) throw ApiError.of(HttpErrorCode.NotFound, `No such ${name} currency.`);
  return r.data;
}

/** Market rates and FX spreads: admins set them, every role reads them. */
export function fxRoutes(deps: { rates: FxRateService; spreads: SpreadService; currencies: CurrencyService }): Router {
  const router = Router();
  const currency = async (value: unknown, name: string) => (await deps.currencies.requireUnits(pathCurrency(value, name), `#/${name}`)).code;

  router.get('/fx/rates', requireRole('admin', 'compliance', 'client'), async (_req, res) => {
    res.json({ data: (await deps.rates.list()).map(presentRate) });
  });

  /** Sets a market rate (1 base = rate quote) and its inverse. */
  router.put('/fx/rates/:base/:quote', requireRole('admin'), async (req, res) => {
    const base = await currency(req.params.base, 'base');
    const quote = await currency(req.params.quote, 'quote');
    const input = parseInput(PutRate, req.body);
    const rate = await deps.rates.put({ base, quote, rate: input.rate, asOf: input.as_of ? new Date(input.as_of) : new Date(), source: input.source ?? 'manual' });
    res.json(presentRate(rate));
  });

  router.get('/fx/spreads', requireRole('admin', 'compliance', 'client'), async (_req, res) => {
    res.json({ data: await deps.spreads.list() });
  });

  /** PUT /fx/spreads/default sets the spread of every pair without its own. */
  router.put('/fx/spreads/default', requireRole('admin'), async (req, res) => {
    const { percentage } = parseInput(PutSpread, req.body);
    res.json(await deps.spreads.put(DEFAULT_PAIR, DEFAULT_PAIR, percentage));
  });

  router.put('/fx/spreads/:source/:target', requireRole('admin'), async (req, res) => {
    const source = await currency(req.params.source, 'source');
    const target = await currency(req.params.target, 'target');
    const { percentage } = parseInput(PutSpread, req.body);
    res.json(await deps.spreads.put(source, target, percentage));
  });

  router.delete('/fx/spreads/:source/:target', requireRole('admin'), async (req, res) => {
    const removed = await deps.spreads.remove(pathCurrency(req.params.source, 'source'), pathCurrency(req.params.target, 'target'));
    if (!removed) throw ApiError.of(HttpErrorCode.NotFound, 'No spread for this pair.');
    res.status(204).end();
  });

  return router;
}

export const Rate = z.object({ base: z.string(), quote: z.string(), rate: Decimal.meta({ description: '1 base = rate quote' }), as_of: Timestamp, source: z.string() }).meta({ id: 'FxRate' });
type _RateDocumented = Assert<Documents<typeof Rate, ReturnType<typeof presentRate>>>;

export const Spread = z
  .object({ source_currency: z.string().meta({ description: '`*` for the default' }), target_currency: z.string(), percentage: Decimal.meta({ description: '"1" is 1%' }) })
  .meta({ id: 'FxSpread' });
type _SpreadDocumented = Assert<Documents<typeof Spread, SpreadRow>>;

export const fxPaths: OpenApiPaths = {
  '/v1/fx/rates': {
    get: op('FX', 'listFxRates', 'List market rates', { description: roles('admin', 'compliance', 'client'), responses: { '200': json('Every rate', list(Rate)), ...errors(...V1, 403) } }),
  },
  '/v1/fx/rates/{base}/{quote}': {
    put: op('FX', 'putFxRate', 'Set a market rate', {
      description: `${roles('admin')} 1 base = rate quote; the inverse is stored with it.`,
      requestParams: { path: currencyPath('base', 'quote') },
      requestBody: body(PutRate),
      responses: { '200': json('The rate', Rate), ...errors(...V1, ...BODY, 403, 404) },
    }),
  },
  '/v1/fx/spreads': {
    get: op('FX', 'listFxSpreads', 'List FX spreads', { description: roles('admin', 'compliance', 'client'), responses: { '200': json('Every spread', list(Spread)), ...errors(...V1, 403) } }),
  },
  '/v1/fx/spreads/default': {
    put: op('FX', 'putDefaultFxSpread', 'Set the default FX spread', {
      description: `${roles('admin')} The spread of every pair without its own.`,
      requestBody: body(PutSpread),
      responses: { '200': json('The spread', Spread), ...errors(...V1, ...BODY, 403) },
    }),
  },
  '/v1/fx/spreads/{source}/{target}': {
    put: op('FX', 'putFxSpread', "Set a pair's FX spread", {
      description: roles('admin'),
      requestParams: { path: currencyPath('source', 'target') },
      requestBody: body(PutSpread),
      responses: { '200': json('The spread', Spread), ...errors(...V1, ...BODY, 403, 404) },
    }),
    delete: op('FX', 'deleteFxSpread', "Remove a pair's FX spread", {
      description: `${roles('admin')} The pair falls back to the default.`,
      requestParams: { path: currencyPath('source', 'target') },
      responses: { '204': noContent, ...errors(...V1, 403, 404) },
    }),
  },
};
