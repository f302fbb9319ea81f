import { Router } from 'express';
import { z } from 'zod';
import { AccountRefusal } from '../accounts/refusals';
import type { AccountService } from '../accounts/service';
import { principalOf, requireRole } from '../auth/middleware';
import { principalScope, type Principal } from '../auth/service';
import type { CurrencyService } from '../currencies/service';
import { ApiError, HttpErrorCode } from '../http/errors';
import { body, Decimal, errors, Id, json, LocationHeader, op, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { CurrencyCode, DecimalString, parseInput, pathId, Uuid } from '../http/validation';
import { Refusal } from '../refusal';
import { OPERATIONS } from '../tariffs/schedule';
import { OverrideFeesSchema } from './overrides';
import { presentQuote, type QuoteService } from './quotes';
import { priceRefusal } from './refusals';
import { buildPricingRequest, type PriceFields } from './request';
import type { PriceRecord, PricingService } from './service';

export const CreateQuote = z.strictObject({
  source_account_id: Uuid.optional(),
  source_currency: CurrencyCode.optional(),
  target_currency: CurrencyCode,
  source_amount: z.string().max(64).optional(),
  target_amount: z.string().max(64).optional(),
  fx_rate: DecimalString.optional(),
  override_fees: OverrideFeesSchema.optional(),
});
export const Calculate = z.strictObject({
  operation: z.enum(OPERATIONS).optional(),
  source_currency: CurrencyCode,
  target_currency: CurrencyCode.optional(),
  source_amount: z.string().max(64).optional(),
  target_amount: z.string().max(64).optional(),
  fx_rate: DecimalString.optional(),
  override_fees: OverrideFeesSchema.optional(),
});

type PricingRouteDeps = { quotes: QuoteService; pricing: PricingService; currencies: CurrencyService; accounts: AccountService };

/** Prices before money moves: quotes that lock a price for a transfer, and the fee calculator. */
export function pricingRoutes(deps: PricingRouteDeps): Router {
  const router = Router();

  /** A price locked for a short time (FX_QUOTE_TTL_SECONDS); a transfer passes its id as quote_id. */
  router.post('/fx/quotes', requireRole('admin', 'client'), async (req, res) => {
    const principal = principalOf(req);
    const input = parseInput(CreateQuote, req.body);
    if ((input.source_account_id === undefined) === (input.source_currency === undefined)) {
      throw ApiError.of(HttpErrorCode.InvalidValue, 'Give exactly one of source_account_id or source_currency.', '#/source_account_id');
    }
    const sourceCode = input.source_account_id ? await sourceAccountCurrency(deps, principal, input.source_account_id) : (input.source_currency as string);
    const price = await priced(deps, principal, { source: sourceCode, target: input.target_currency }, input);
    const quote = await deps.quotes.create({ ownerScope: principalScope(principal), sourceAccountId: input.source_account_id ?? null, price });
    res.status(201).location(`/v1/fx/quotes/${quote.id}`).json(presentQuote(quote));
  });

  router.get('/fx/quotes/:id', requireRole('admin', 'client'), async (req, res) => {
    const quote = await deps.quotes.getOwned(pathId(req.params.id), principalScope(principalOf(req)));
    if (!quote) throw ApiError.of(HttpErrorCode.NotFound, 'No quote with this id.');
    res.json(presentQuote(quote));
  });

  /** Answers what an operation would cost, with the same pricing as quotes and transfers; moves no money. */
  router.post('/tariffs/calculate', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const input = parseInput(Calculate, req.body);
    const p = await priced(deps, principalOf(req), { source: input.source_currency, target: input.target_currency ?? input.source_currency, operation: input.operation }, input);
    res.json({
      operation_type: p.operation,
      market_rate: p.market_rate,
      fx_rate: p.fx_rate,
      source_amount: { amount: p.source_amount, currency: p.source_currency },
      target_amount: { amount: p.target_amount, currency: p.target_currency },
      calculated_fees: p.calculated_fees,
    });
  });

  return router;
}

async function sourceAccountCurrency(deps: PricingRouteDeps, principal: Principal, accountId: string): Promise<string> {
  const account = await deps.accounts.getVisible(principal, accountId);
  if (!account) throw new Refusal(AccountRefusal.NotFound, 'No source account with this id.', '#/source_account_id');
  return account.currency.trim();
}

/** The price of what the request asks, now; refused with the input each refusal is about. */
async function priced(
  deps: PricingRouteDeps,
  principal: Principal,
  currencies: { source: string; target: string; operation?: (typeof OPERATIONS)[number] },
  fields: PriceFields,
): Promise<PriceRecord> {
  const source = await deps.currencies.requireUnits(currencies.source, '#/source_currency');
  const target = await deps.currencies.requireUnits(currencies.target, '#/target_currency');
  const request = buildPricingRequest(principal, { source, target, operation: currencies.operation }, fields);
  const result = await deps.pricing.price(request);
  if (!result.ok) throw priceRefusal(result.error, request.given.side);
  return result.price;
}

const FeeLine = z.object({ amount: z.object({ amount: Decimal, currency: z.string() }), id: z.string(), tx_description: z.string().nullable() });
export const CalculatedFees = z.record(z.string(), FeeLine).meta({ description: "Fees by name (the operation's fixed fee; `spread` across currencies), charged in the source currency" });

/** What pricing answers, whether as a price or as a quote that locks it. */
const PRICED = {
  operation_type: z.enum(OPERATIONS),
  market_rate: Decimal.nullable(),
  fx_rate: Decimal.nullable(),
  source_amount: z.object({ amount: Decimal, currency: z.string() }),
  target_amount: z.object({ amount: Decimal, currency: z.string() }),
  calculated_fees: CalculatedFees,
};

export const Quote = z
  .object({ id: Id, source_account_id: Id.nullable(), ...PRICED, rate_as_of: Timestamp.nullable(), expires_at: Timestamp, used_by_transfer_id: Id.nullable(), created_at: Timestamp })
  .meta({ id: 'FxQuote', description: 'A price locked until expires_at; a transfer passes its id as quote_id.' });
type _QuoteDocumented = Assert<Documents<typeof Quote, ReturnType<typeof presentQuote>>>;

export const Price = z.object(PRICED).meta({ id: 'Price' });

export const pricingPaths: OpenApiPaths = {
  '/v1/fx/quotes': {
    post: op('FX', 'createFxQuote', 'Create a quote', {
      description: `${roles('admin', 'client')} A price locked for FX_QUOTE_TTL_SECONDS. Exactly one of source_account_id or source_currency, and one of source_amount or target_amount.`,
      requestBody: body(CreateQuote),
      responses: { '201': json('The quote', Quote, LocationHeader), ...errors(...V1, ...BODY, 403) },
    }),
  },
  '/v1/fx/quotes/{id}': {
    get: op('FX', 'getFxQuote', 'Get a quote', {
      description: `${roles('admin', 'client')} Only the quote's owner sees it.`,
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The quote', Quote), ...errors(...V1, 403, 404) },
    }),
  },
  '/v1/tariffs/calculate': {
    post: op('Tariffs', 'calculateFees', 'What an operation would cost', {
      description: `${roles('admin', 'compliance', 'client')} The same pricing as quotes and transfers; moves no money.`,
      requestBody: body(Calculate),
      responses: { '200': json('The price', Price), ...errors(...V1, ...BODY, 403) },
    }),
  },
};
