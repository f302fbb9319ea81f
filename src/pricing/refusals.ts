import { Refusal, type CodeOf } from '../refusal';

/**
 * What pricing refuses: a price that cannot be made (computePrice, the pricing service), a
 * request that may not set what it sets (buildPricingRequest), and a quote that cannot price a
 * transfer (the quote service). The first six decline a transfer when its workflow prices it.
 */
export const PricingRefusal = {
  /** After fees and conversion nothing would arrive. */
  AmountTooSmall: 'amount_too_small',
  /** A computed amount with more integer digits than any amount may have. */
  AmountTooLarge: 'amount_too_large',
  /** No market rate for the pair (the service's answer). */
  FxRateUnavailable: 'fx_rate_unavailable',
  /** Across currencies with neither a market rate nor a client's rate (computePrice's answer). */
  FxRateRequired: 'fx_rate_required',
  /** The market rate is older than FX_RATE_MAX_AGE_SECONDS. */
  FxRateStale: 'fx_rate_stale',
  /** A rate of zero or less. */
  InvalidRate: 'invalid_rate',
  /** fx_rate between two equal currencies. */
  FxRateNotApplicable: 'fx_rate_not_applicable',
  /** fx_rate or override_fees from a key other than an admin's: the price is the platform's to set. */
  PriceSettingNotAllowed: 'price_setting_not_allowed',
  /** Both amounts, or neither. */
  OneAmountRequired: 'one_amount_required',
  /** An override_fees entry that does not fit the operation or its source currency. */
  InvalidFeeOverride: 'invalid_fee_override',
  QuoteNotFound: 'quote_not_found',
  QuoteExpired: 'quote_expired',
  QuoteAlreadyUsed: 'quote_already_used',
  /** A quote made for other accounts, currencies or amounts, or a quoted transfer setting its own rate or fees. */
  QuoteMismatch: 'quote_mismatch',
} as const;
export type PricingRefusalCode = CodeOf<typeof PricingRefusal>;

/** A price that cannot be made, as computePrice and the pricing service answer it (a value, not thrown). */
export type PriceRefused = { code: PricingRefusalCode; message: string };

/** The input each price refusal is about, by the request fields every pricing API shares. */
export function priceRefusal(refused: PriceRefused, givenSide: 'source' | 'target'): Refusal<PricingRefusalCode> {
  const path =
    refused.code === PricingRefusal.AmountTooSmall || refused.code === PricingRefusal.AmountTooLarge
      ? `#/${givenSide}_amount`
      : refused.code === PricingRefusal.InvalidRate
        ? '#/fx_rate'
        : '#/target_currency';
  return new Refusal(refused.code, refused.message, path);
}
