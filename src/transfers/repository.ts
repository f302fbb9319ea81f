import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { priceColumns, type TransferRow } from './model';
import { RESPONSE_MESSAGES, ResponseCode, type TransferStatus } from './outcomes';
import type { PriceRecord } from '../pricing/service';

export type TransferOutcomeRecord = {
  status: Exclude<TransferStatus, 'processing'>;
  responseCode: ResponseCode;
  message: string;
};

/** Persistence of transfers: the API's source of truth. */
export function createTransferRepository(db: Db) {
  const get = (id: string, trx: Knex | Knex.Transaction = db) =>
    trx('transfers').where({ id }).first<TransferRow | undefined>();

  async function mustGet(id: string): Promise<TransferRow> {
    const row = await get(id);
    if (!row) throw new Error(`Transfer ${id} not found`);
    return row;
  }

  async function linkHold(id: string, holdId: string): Promise<void> {
    await db('transfers').where({ id }).update({ hold_id: holdId, updated_at: db.fn.now() });
  }

  async function linkLedgerTransaction(id: string, ledgerTransactionId: string): Promise<void> {
    await db('transfers').where({ id }).update({ ledger_transaction_id: ledgerTransactionId, updated_at: db.fn.now() });
  }

  /** processing → held (seed 001's 12 quarantined), with when the hold expires; a repeat changes nothing. */
  async function hold(id: string, input: { expiresInSeconds: number; reason: string }): Promise<void> {
    await db('transfers')
      .where({ id, status: 'processing' })
      .update({
        status: 'held',
        response_code: ResponseCode.Quarantined,
        message: `${RESPONSE_MESSAGES[ResponseCode.Quarantined]}: ${input.reason}`.slice(0, 500),
        held_at: db.fn.now(),
        hold_expires_at: db.raw(`now() + make_interval(secs => ?)`, [input.expiresInSeconds]),
        updated_at: db.fn.now(),
      });
  }

  /** held → processing once released, to be posted. */
  async function resume(id: string): Promise<void> {
    await db('transfers').where({ id, status: 'held' }).update({ status: 'processing', response_code: null, message: null, updated_at: db.fn.now() });
  }

  /** A payout accepted by the rail: on its way, not settled yet. */
  async function markSent(id: string, railReference: string): Promise<void> {
    await db('transfers').where({ id, status: 'processing' }).update({ status: 'sent', rail_reference: railReference, sent_at: db.fn.now(), updated_at: db.fn.now() });
  }

  async function linkSettlement(id: string, ledgerTransactionId: string): Promise<void> {
    await db('transfers').where({ id }).update({ settlement_transaction_id: ledgerTransactionId, settled_at: db.fn.now(), updated_at: db.fn.now() });
  }

  async function linkReversal(id: string, ledgerTransactionId: string): Promise<void> {
    await db('transfers').where({ id }).update({ reversal_transaction_id: ledgerTransactionId, updated_at: db.fn.now() });
  }

  /** completed → returned: the beneficiary's bank sent a settled payout back and it was reversed. */
  async function markReturned(id: string, message: string): Promise<void> {
    await db('transfers')
      .where({ id, status: 'completed' })
      .update({ status: 'returned', response_code: ResponseCode.ContactSupport, message: message.slice(0, 500), updated_at: db.fn.now() });
  }

  /** Records the price once: a retried pricing step keeps (and returns) the first price. */
  async function recordPrice(id: string, price: PriceRecord): Promise<TransferRow> {
    const [priced] = await db('transfers')
      .where({ id })
      .whereNull('priced_at')
      .update({ ...priceColumns(price), updated_at: db.fn.now() })
      .returning<TransferRow[]>('*');
    return priced ?? mustGet(id);
  }

  /**
   * Moves a transfer out of `processing`, once. The row lock makes the transition atomic; a repeat
   * (activity retry) finds it already recorded and returns it unchanged.
   */
  async function recordOutcome(id: string, outcome: TransferOutcomeRecord): Promise<TransferRow> {
    return db.transaction(async (trx) => {
      const row = await trx('transfers').where({ id }).forNoKeyUpdate().first<TransferRow | undefined>();
      if (!row) throw new Error(`Transfer ${id} not found`);
      if (row.status !== 'processing' && row.status !== 'held' && row.status !== 'sent') return row;
      const [updated] = await trx('transfers')
        .where({ id })
        .update({
          status: outcome.status,
          response_code: outcome.responseCode,
          message: outcome.message,
          completed_at: trx.fn.now(),
          updated_at: trx.fn.now(),
        })
        .returning<TransferRow[]>('*');
      return updated as TransferRow;
    });
  }

  return { get, mustGet, linkHold, linkLedgerTransaction, recordPrice, hold, resume, markSent, linkSettlement, linkReversal, markReturned, recordOutcome };
}

export type TransferRepository = ReturnType<typeof createTransferRepository>;
