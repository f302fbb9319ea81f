import type { CodeOf } from '../refusal';

/** What the customers refuse. */
export const CustomerRefusal = {
  /** A customer named in a request (for an account, a key, a beneficiary, a webhook endpoint) that does not exist, or that the caller may not see. */
  NotFound: 'customer_not_found',
} as const;
export type CustomerRefusalCode = CodeOf<typeof CustomerRefusal>;
