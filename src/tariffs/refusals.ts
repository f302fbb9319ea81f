import type { CodeOf } from '../refusal';

/** What the fee schedules refuse. */
export const TariffRefusal = {
  /** Ranges that do not tile [0, ∞) without gap or overlap (each problem is listed). */
  InvalidRanges: 'invalid_tariff_ranges',
  /** One tariff per operation and currency: replace the existing one's ranges instead. */
  Exists: 'tariff_exists',
} as const;
export type TariffRefusalCode = CodeOf<typeof TariffRefusal>;
