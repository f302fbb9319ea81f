import type { CodeOf } from '../refusal';

/** What the currencies refuse. */
export const CurrencyRefusal = {
  /** Not an ISO 4217 currency this service holds accounts in (the `currencies` table). */
  NotSupported: 'currency_not_supported',
} as const;
export type CurrencyRefusalCode = CodeOf<typeof CurrencyRefusal>;
