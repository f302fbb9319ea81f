import type { Db } from '../src/db/knex';
import { payoutSettlementLegs } from '../src/ledger/legs';
import type { LedgerService } from '../src/ledger/service';
import type { PayoutRail } from '../src/rail/client';
import type { TransferRow } from '../src/transfers/model';
import { outcomeOf, type TransferRepository } from '../src/transfers/repository';
import { SUCCESS, type RailSeen, type RecordedOutcome } from '../workflows/contract';
import { ledgerKey } from './movements';

/**
 * A posted payout's way out of the bank: sent through the rail, settled on its confirmation
 * (payouts in transit → funding), or refunded by reversals when the rail rejects it or the
 * beneficiary's bank returns it. Each ledger step has its own idempotency key.
 */
export function createPayoutSteps(deps: {
  db: Db;
  ledger: LedgerService;
  transfers: TransferRepository;
  rail: PayoutRail;
  /** Where the rail reports settlements and returns (the API's /rail/events). */
  railCallbackUrl: () => string;
}) {
  const { db, ledger, transfers, rail } = deps;

  /**
   * Sends a posted payout through the rail (idempotent on the payout id). A transient failure
   * throws, to be retried; a permanent rejection is returned.
   */
  async function send(transferId: string, opts: { resend?: boolean } = {}) {
    const t = await transfers.mustGet(transferId);
    if (t.rail_reference && !opts.resend) return { status: 'accepted' as const, railReference: t.rail_reference };
    const beneficiary = await db('beneficiaries').where({ id: t.beneficiary_id }).first<{ name: string; bank_details: Record<string, string> }>();
    const result = await rail.send({
      payoutId: t.id,
      amount: t.target_amount as string,
      currency: t.target_currency.trim(),
      beneficiary: { name: beneficiary.name, ...beneficiary.bank_details },
      reference: t.reference,
      callbackUrl: deps.railCallbackUrl(),
    });
    if (result.status === 'accepted') {
      await transfers.markSent(transferId, result.railReference);
      if (opts.resend) await db('transfers').where({ id: transferId }).update({ rail_reference: result.railReference });
    }
    return result;
  }

  /** The rail's view, when no callback came; a payout the rail has is recorded as on its way. */
  async function check(transferId: string): Promise<RailSeen> {
    const seen = await rail.status(transferId);
    if (seen.status !== 'unknown' && seen.status !== 'rejected' && seen.railReference) await transfers.markSent(transferId, seen.railReference);
    return seen;
  }

  /** The rail settled it: the money leaves the bank (in transit → funding). `complete` also records the outcome, in the same commit. */
  async function settle(transferId: string, opts: { complete: boolean }): Promise<RecordedOutcome | null> {
    const t = await transfers.mustGet(transferId);
    const recorded = outcomeOf(t);
    if (recorded) return recorded;
    const legs = await payoutSettlementLegs({ currency: t.target_currency, amount: t.target_amount as string }, ledger.getSystemAccount);
    return db.transaction(async (trx) => {
      const settled = await ledger.postTransaction(
        { idempotencyKey: ledgerKey(transferId, 'settle'), kind: 'payout_settlement', transferId, reference: t.reference, description: `Payout settled (${t.rail_reference ?? 'rail'})`, legs },
        trx,
      );
      await transfers.linkSettlement(transferId, settled.id, trx);
      return opts.complete ? outcomeOf(await transfers.recordOutcome(transferId, SUCCESS, trx)) : null;
    });
  }

  /**
   * Undoes a posted payout, newest step first: the settlement (if any), then the posting, each a
   * new balanced transaction exactly once. Fees and spread are refunded with the principal.
   */
  async function reverse(t: TransferRow, trx: Db = db): Promise<void> {
    const originals = [t.settlement_transaction_id, t.ledger_transaction_id].filter((id): id is string => id !== null);
    if (trx.isTransaction && originals.length > 1) {
      // Two reversals in one transaction: lock all their accounts in id order first, as one posting would.
      await ledger.lockAccounts(await trx('ledger_entries').whereIn('transaction_id', originals).pluck('account_id'), trx);
    }
    if (t.settlement_transaction_id) {
      await ledger.reverseTransaction(
        { originalId: t.settlement_transaction_id, idempotencyKey: ledgerKey(t.id, 'reverse-settlement'), kind: 'payout_reversal', transferId: t.id, description: 'Payout returned: settlement reversed' },
        trx,
      );
    }
    if (t.ledger_transaction_id) {
      const reversal = await ledger.reverseTransaction(
        { originalId: t.ledger_transaction_id, idempotencyKey: ledgerKey(t.id, 'reverse-posting'), kind: 'payout_reversal', transferId: t.id, description: 'Payout reversed: funds returned to the source' },
        trx,
      );
      await transfers.linkReversal(t.id, reversal.id, trx);
    }
  }

  /**
   * The rail rejected the payout (`outcome`: failed) or the beneficiary's bank returned it after
   * settlement (`returned`): reversed and recorded in one commit.
   */
  async function refund(transferId: string, why: { outcome: RecordedOutcome } | { returned: string }): Promise<RecordedOutcome> {
    return db.transaction(async (trx) => {
      const t = await transfers.lock(transferId, trx);
      await reverse(t, trx);
      if ('returned' in why) await transfers.markReturned(transferId, returnedMessage(why.returned), trx);
      else await transfers.recordOutcome(transferId, why.outcome, trx);
      return outcomeOf(await transfers.mustGet(transferId, trx)) as RecordedOutcome;
    });
  }

  return { send, check, settle, reverse, refund };
}

export type PayoutSteps = ReturnType<typeof createPayoutSteps>;

export const returnedMessage = (reason: string) => `contact_support: returned by the beneficiary's bank: ${reason}`;
