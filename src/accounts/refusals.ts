import type { CodeOf } from '../refusal';

/** What the accounts refuse. */
export const AccountRefusal = {
  /** An account a request names (a transfer's source, say) that does not exist or that the caller may not see. */
  NotFound: 'account_not_found',
} as const;
export type AccountRefusalCode = CodeOf<typeof AccountRefusal>;
