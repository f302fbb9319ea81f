import type { CodeOf } from '../refusal';

/** What the API keys refuse. */
export const AuthRefusal = {
  /** A key cannot revoke itself: revoking the last admin key with itself would lock every admin out. */
  RevokingOwnKey: 'revoking_own_key',
  /** A client key for a customer that does not exist. */
  CustomerNotFound: 'customer_not_found',
} as const;
export type AuthRefusalCode = CodeOf<typeof AuthRefusal>;
