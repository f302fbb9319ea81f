import { Money } from '../money/money';
import type { Leg, SystemPurpose } from './service';

/** A priced movement of money between two accounts, as the ledger needs it. Amounts are decimal strings. */
export type PricedMovement = {
  sourceAccountId: string;
  destinationAccountId: string;
  sourceCurrency: string;
  targetCurrency: string;
  /** S: what leaves the source. */
  sourceAmount: string;
  /** T: what reaches the destination. */
  targetAmount: string;
  /** F: the fixed fee, in the source currency. */
  fixedFee: string;
  /** SP: what the FX markup cost, in the source currency. */
  spreadFee: string;
  reference: string;
  feeDescription: string;
};

export type SystemAccountOf = (purpose: SystemPurpose, currency: string) => Promise<{ id: string }>;

/**
 * The entries of a priced movement, one balanced set per currency:
 * source −S; fee revenue +F and spread revenue +SP (source currency); FX position +(S−F−SP) in the
 * source currency and −T in the target currency; destination +T. Same currency: −S, +F, +T.
 * A zero amount moves nothing: it has no entry.
 */
export async function movementLegs(m: PricedMovement, systemAccount: SystemAccountOf): Promise<Leg[]> {
  const src = m.sourceCurrency.trim();
  const tgt = m.targetCurrency.trim();
  const S = new Money(m.sourceAmount);
  const T = new Money(m.targetAmount);
  const F = new Money(m.fixedFee);
  const SP = new Money(m.spreadFee);
  const system = async (purpose: SystemPurpose, currency: string) => (await systemAccount(purpose, currency)).id;
  const legs: Leg[] = [
    { accountId: m.sourceAccountId, currency: src, amount: S.neg().toString(), description: m.reference },
    { accountId: await system('fee_revenue', src), currency: src, amount: F.toString(), description: m.feeDescription },
    { accountId: await system('spread_revenue', src), currency: src, amount: SP.toString(), description: 'FX spread' },
  ];
  if (src !== tgt) {
    legs.push(
      { accountId: await system('fx_position', src), currency: src, amount: S.minus(F).minus(SP).toString(), description: `FX ${src}->${tgt}` },
      { accountId: await system('fx_position', tgt), currency: tgt, amount: T.neg().toString(), description: `FX ${src}->${tgt}` },
    );
  }
  legs.push({ accountId: m.destinationAccountId, currency: tgt, amount: T.toString(), description: m.reference });
  return legs.filter((l) => !new Money(l.amount).isZero());
}

/** A payout the rail settled leaves the bank: payouts in transit → the currency's funding (omnibus) account. */
export async function payoutSettlementLegs(p: { currency: string; amount: string }, systemAccount: SystemAccountOf): Promise<Leg[]> {
  const currency = p.currency.trim();
  const T = new Money(p.amount);
  return [
    { accountId: (await systemAccount('payouts_in_transit', currency)).id, currency, amount: T.neg().toString() },
    { accountId: (await systemAccount('funding', currency)).id, currency, amount: T.toString() },
  ];
}
