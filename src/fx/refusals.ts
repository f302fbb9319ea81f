import type { CodeOf } from '../refusal';

/** What the FX rates refuse. */
export const FxRefusal = {
  /** A rate needs two different currencies. */
  SameCurrency: 'rate_between_same_currency',
  /** A rate observed later than now (beyond a little clock skew) would never go stale. */
  FromTheFuture: 'rate_from_the_future',
} as const;
export type FxRefusalCode = CodeOf<typeof FxRefusal>;
