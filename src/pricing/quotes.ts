import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { Refusal } from '../refusal';
import { PricingRefusal } from './refusals';
import type { PriceRecord } from './service';

export type QuoteRow = {
  id: string;
  owner_scope: string;
  source_account_id: string | null;
  source_currency: string;
  target_currency: string;
  given_side: 'source' | 'target';
  source_amount: string;
  target_amount: string;
  market_rate: string;
  fx_rate: string;
  price: PriceRecord;
  rate_as_of: Date | null;
  expires_at: Date;
  used_by_transfer_id: string | null;
  created_at: Date;
};

/** Locked prices: a quote is good for its owner, once, until it expires. */
export function createQuoteService(deps: { db: Db; ttlMs: number }) {
  const { db } = deps;

  async function create(input: { ownerScope: string; sourceAccountId: string | null; price: PriceRecord }): Promise<QuoteRow> {
    const p = input.price;
    const [row] = await db('fx_quotes')
      .insert({
        id: randomUUID(),
        owner_scope: input.ownerScope,
        source_account_id: input.sourceAccountId,
        source_currency: p.source_currency,
        target_currency: p.target_currency,
        given_side: p.given_side,
        source_amount: p.source_amount,
        target_amount: p.target_amount,
        market_rate: p.market_rate,
        fx_rate: p.fx_rate,
        price: JSON.stringify(p),
        rate_as_of: p.rate_as_of,
        expires_at: db.raw(`now() + make_interval(secs => ?)`, [deps.ttlMs / 1000]),
      })
      .returning<QuoteRow[]>('*');
    return row as QuoteRow;
  }

  /**
   * Marks the quote used by a transfer, inside the transaction that creates the transfer, so a quote
   * can never price two transfers. Says precisely why when it cannot.
   */
  async function lockForTransfer(
    trx: Knex.Transaction,
    input: { quoteId: string; ownerScope: string; transferId: string; sourceAccountId: string; sourceCurrency: string; targetCurrency: string },
  ): Promise<QuoteRow> {
    const path = '#/quote_id';
    const quote = await trx('fx_quotes').where({ id: input.quoteId }).forNoKeyUpdate().first<QuoteRow | undefined>();
    if (!quote || quote.owner_scope !== input.ownerScope) throw new Refusal(PricingRefusal.QuoteNotFound, 'No quote with this id.', path);
    if (quote.used_by_transfer_id) throw new Refusal(PricingRefusal.QuoteAlreadyUsed, 'This quote has already been used by a transfer.', path);
    const { rows } = await trx.raw('SELECT now() >= ?::timestamptz AS expired', [quote.expires_at]);
    if (rows[0]?.expired) throw new Refusal(PricingRefusal.QuoteExpired, `This quote expired at ${quote.expires_at.toISOString()}.`, path);
    if (
      quote.source_currency.trim() !== input.sourceCurrency ||
      quote.target_currency.trim() !== input.targetCurrency ||
      (quote.source_account_id !== null && quote.source_account_id !== input.sourceAccountId)
    ) {
      throw new Refusal(PricingRefusal.QuoteMismatch, 'The quote was made for other accounts or currencies.', path);
    }
    const marked = await trx('fx_quotes').where({ id: quote.id }).whereNull('used_by_transfer_id').update({ used_by_transfer_id: input.transferId });
    if (marked !== 1) throw new Refusal(PricingRefusal.QuoteAlreadyUsed, 'This quote has already been used by a transfer.', path);
    return quote;
  }

  async function getOwned(id: string, ownerScope: string): Promise<QuoteRow | undefined> {
    return db('fx_quotes').where({ id, owner_scope: ownerScope }).first<QuoteRow | undefined>();
  }

  return { create, lockForTransfer, getOwned };
}

export type QuoteService = ReturnType<typeof createQuoteService>;

export const presentQuote = (q: QuoteRow) => ({
  id: q.id,
  source_account_id: q.source_account_id,
  operation_type: q.price.operation,
  market_rate: q.price.market_rate,
  fx_rate: q.price.fx_rate,
  source_amount: { amount: q.price.source_amount, currency: q.price.source_currency },
  target_amount: { amount: q.price.target_amount, currency: q.price.target_currency },
  calculated_fees: q.price.calculated_fees,
  rate_as_of: q.price.rate_as_of,
  expires_at: q.expires_at,
  used_by_transfer_id: q.used_by_transfer_id,
  created_at: q.created_at,
});
