import { Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../auth/middleware';
import type { CurrencyService } from '../currencies/service';
import { ApiError, HttpErrorCode } from '../http/errors';
import { body, Decimal, errors, Id, json, list, LocationHeader, noContent, op, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { CurrencyCode, decimalWithPlaces, parseInput, pathId, SafeText } from '../http/validation';
import { Money } from '../money/money';
import { OPERATIONS } from './schedule';
import type { Tariff, TariffService } from './service';

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

/** Fee schedules: admins write them, every role reads them (what an operation would cost is pricing's: POST /v1/tariffs/calculate). */
export function tariffRoutes(deps: { tariffs: TariffService; currencies: CurrencyService }): Router {
  const router = Router();
  const withIds = (ranges: z.infer<typeof Ranges>) => ranges.map((r) => ({ ...r, id: null }));
  const notFound = () => ApiError.of(HttpErrorCode.NotFound, 'No tariff with this id.');

  router.get('/tariffs', requireRole('admin', 'compliance', 'client'), async (_req, res) => {
    res.json({ data: await deps.tariffs.list() });
  });

  router.post('/tariffs', requireRole('admin'), async (req, res) => {
    const input = parseInput(CreateTariff, req.body);
    await deps.currencies.requireUnits(input.currency, '#/currency');
    const tariff = await deps.tariffs.create({ operation: input.operation, currency: input.currency, ranges: withIds(input.ranges) });
    res.status(201).location(`/v1/tariffs/${tariff.id}`).json(tariff);
  });

  router.get('/tariffs/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const tariff = await deps.tariffs.get(pathId(req.params.id));
    if (!tariff) throw notFound();
    res.json(tariff);
  });

  router.put('/tariffs/:id', requireRole('admin'), async (req, res) => {
    const input = parseInput(ReplaceRanges, req.body);
    const tariff = await deps.tariffs.replaceRanges(pathId(req.params.id), withIds(input.ranges));
    if (!tariff) throw notFound();
    res.json(tariff);
  });

  router.delete('/tariffs/:id', requireRole('admin'), async (req, res) => {
    if (!(await deps.tariffs.remove(pathId(req.params.id)))) throw notFound();
    res.status(204).end();
  });

  return router;
}

const TariffRange = z.object({
  id: Id.nullable(),
  min_amount: Decimal,
  max_amount: Decimal.nullable(),
  fixed_amount: Decimal,
  percentage: Decimal,
  min_fee: Decimal.nullable(),
  max_fee: Decimal.nullable(),
  tx_description: z.string().nullable(),
});
export const TariffSchema = z
  .object({ id: Id, operation: z.enum(OPERATIONS), currency: z.string(), ranges: z.array(TariffRange), created_at: Timestamp, updated_at: Timestamp })
  .meta({ id: 'Tariff', description: 'A fee schedule: amount ranges, each with a fixed fee and a percentage.' });
type _TariffDocumented = Assert<Documents<typeof TariffSchema, Tariff>>;

export const tariffPaths: OpenApiPaths = {
  '/v1/tariffs': {
    get: op('Tariffs', 'listTariffs', 'List tariffs', { description: roles('admin', 'compliance', 'client'), responses: { '200': json('Every tariff', list(TariffSchema)), ...errors(...V1, 403) } }),
    post: op('Tariffs', 'createTariff', 'Create a tariff', {
      description: `${roles('admin')} One per operation and currency (409 \`tariff_exists\`).`,
      requestBody: body(CreateTariff),
      responses: { '201': json('The tariff', TariffSchema, LocationHeader), ...errors(...V1, ...BODY, 403, 409) },
    }),
  },
  '/v1/tariffs/{id}': {
    get: op('Tariffs', 'getTariff', 'Get a tariff', {
      description: roles('admin', 'compliance', 'client'),
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The tariff', TariffSchema), ...errors(...V1, 403, 404) },
    }),
    put: op('Tariffs', 'replaceTariffRanges', "Replace a tariff's ranges", {
      description: roles('admin'),
      requestParams: { path: pathIds('id') },
      requestBody: body(ReplaceRanges),
      responses: { '200': json('The tariff', TariffSchema), ...errors(...V1, ...BODY, 403, 404) },
    }),
    delete: op('Tariffs', 'deleteTariff', 'Delete a tariff', {
      description: roles('admin'),
      requestParams: { path: pathIds('id') },
      responses: { '204': noContent, ...errors(...V1, 403, 404) },
    }),
  },
};
