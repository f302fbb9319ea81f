import { Router } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { CurrencyCode, parseInput, pathId, SafeText, Uuid } from '../api/validation';
import type { AccountService } from '../accounts/service';
import { principalOf, requireRole } from '../auth/middleware';
import { principalScope } from '../auth/service';
import type { CurrencyService } from '../currencies/service';
import { Money } from '../money/money';
import { DecimalString, decimalWithPlaces, OverrideFeesSchema } from '../pricing/overrides';
import { buildPricingRequest } from '../pricing/request';
import type { PricingService } from '../pricing/service';
import { presentQuote, pricingErrorToApi, type QuoteService } from './quotes';
import { presentRate, type FxRateService } from './rates';
import { DEFAULT_PAIR, type SpreadService } from './spreads';

const MAX_CLOCK_SKEW_MS = 5 * 60_000;
export const PutRate = z.strictObject({
  rate: DecimalString.refine((r) => new Money(r).gt(0), 'The rate must be greater than zero'),
  as_of: z.iso.datetime({ offset: true }).optional(),
  source: SafeText(100).optional(),
});
// fx_spreads.percentage is numeric(12, 6).
export const PutSpread = z.strictObject({ percentage: decimalWithPlaces(6).refine((p) => new Money(p).lt(100), 'Must be below 100') });
export const CreateQuote = z.strictObject({
  source_account_id: Uuid.optional(),
  source_currency: CurrencyCode.optional(),
  target_currency: CurrencyCode,
  source_amount: z.string().max(64).optional(),
  target_amount: z.string().max(64).optional(),
  fx_rate: DecimalString.optional(),
  override_fees: OverrideFeesSchema.optional(),
});

export function fxRoutes(deps: {
  rates: FxRateService;
  spreads: SpreadService;
  quotes: QuoteService;
  pricing: PricingService;
  currencies: CurrencyService;
  accounts: AccountService;
}): Router {
  const router = Router();

  const currency = (code: string, path: string) => deps.currencies.requireUnits(code, path);
  const pathCurrency = (value: unknown, name: string) => {
    const r = CurrencyCode.safeParse(value);
    if (!r.success) throw ApiError.of(ApiErrorCode.NotFound, `No such ${name} currency.`);
    return r.data;
  };

  router.get('/fx/rates', requireRole('admin', 'compliance', 'client'), async (_req, res) => {
    res.json({ data: (await deps.rates.list()).map(presentRate) });
  });

  /** Sets a market rate (1 base = rate quote) and its inverse. */
  router.put('/fx/rates/:base/:quote', requireRole('admin'), async (req, res) => {
    const base = await currency(pathCurrency(req.params.base, 'base'), '#/base');
    const quote = await currency(pathCurrency(req.params.quote, 'quote'), '#/quote');
    if (base.code === quote.code) throw ApiError.of(ApiErrorCode.InvalidValue, 'A rate needs two different currencies.', '#/quote');
    const input = parseInput(PutRate, req.body);
    // A rate from the future would never go stale.
    if (input.as_of && Date.parse(input.as_of) > Date.now() + MAX_CLOCK_SKEW_MS) {
      throw ApiError.of(ApiErrorCode.InvalidValue, 'as_of cannot be in the future.', '#/as_of');
    }
    const rate = await deps.rates.put({
      base: base.code,
      quote: quote.code,
      rate: input.rate,
      asOf: input.as_of ? new Date(input.as_of) : new Date(),
      source: input.source ?? 'manual',
    });
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
    const source = await currency(pathCurrency(req.params.source, 'source'), '#/source');
    const target = await currency(pathCurrency(req.params.target, 'target'), '#/target');
    const { percentage } = parseInput(PutSpread, req.body);
    res.json(await deps.spreads.put(source.code, target.code, percentage));
  });

  router.delete('/fx/spreads/:source/:target', requireRole('admin'), async (req, res) => {
    const removed = await deps.spreads.remove(pathCurrency(req.params.source, 'source'), pathCurrency(req.params.target, 'target'));
    if (!removed) throw ApiError.of(ApiErrorCode.NotFound, 'No spread for this pair.');
    res.status(204).end();
  });

  /** A price locked for a short time (FX_QUOTE_TTL_SECONDS); a transfer passes its id as quote_id. */
  router.post('/fx/quotes', requireRole('admin', 'client'), async (req, res) => {
    const principal = principalOf(req);
    const input = parseInput(CreateQuote, req.body);
    if ((input.source_account_id === undefined) === (input.source_currency === undefined)) {
      throw ApiError.of(ApiErrorCode.InvalidValue, 'Give exactly one of source_account_id or source_currency.', '#/source_account_id');
    }
    let sourceCode = input.source_currency;
    if (input.source_account_id) {
      const account = await deps.accounts.getVisible(principal, input.source_account_id);
      if (!account) throw ApiError.of(ApiErrorCode.AccountNotFound, 'No source account with this id.', '#/source_account_id');
      sourceCode = account.currency.trim();
    }
    const source = await currency(sourceCode as string, '#/source_currency');
    const target = await currency(input.target_currency, '#/target_currency');
    const request = buildPricingRequest(principal, { source, target }, input);
    const priced = await deps.pricing.price(request);
    if (!priced.ok) throw pricingErrorToApi(priced, request.given.side === 'source' ? '#/source_amount' : '#/target_amount');
    const quote = await deps.quotes.create({ ownerScope: principalScope(principal), sourceAccountId: input.source_account_id ?? null, price: priced.price });
    res.status(201).location(`/v1/fx/quotes/${quote.id}`).json(presentQuote(quote));
  });

  router.get('/fx/quotes/:id', requireRole('admin', 'client'), async (req, res) => {
    const quote = await deps.quotes.getOwned(pathId(req.params.id), principalScope(principalOf(req)));
    if (!quote) throw ApiError.of(ApiErrorCode.NotFound, 'No quote with this id.');
    res.json(presentQuote(quote));
  });

  return router;
}
