import type { CodeOf } from '../refusal';

/** What the beneficiaries refuse. */
export const BeneficiaryRefusal = {
  /** An IBAN whose country format or mod-97 checksum is wrong. */
  InvalidIban: 'invalid_iban',
} as const;
export type BeneficiaryRefusalCode = CodeOf<typeof BeneficiaryRefusal>;
