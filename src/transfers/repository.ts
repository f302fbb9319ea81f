import { inTransaction, type Db } from '../db/knex';
import { priceColumns, type TransferRow } from './model';
import { RESPONSE_MESSAGES, ResponseCode, TERMINAL_STATUSES, type RecordedOutcome, type TransferStatus } from '../../workflows/contract';
import type { PriceRecord } from '../pricing/service';
import { afterCommit, movementOutcomes } from '../observability/metrics';

export type TransferOutcomeRecord = RecordedOutcome;

/** A transfer's recorded outcome, or null while it is still on its way. */
export function outcomeOf(t: TransferRow): TransferOutcomeRecord | null {
  if (!TERMINAL_STATUSES.includes(t.status) || t.response_code === null) return null;
  return { status: t.status as TransferOutcomeRecord['status'], responseCode: t.response_code, message: t.message ?? '' };
}

/** A status a transfer or payout reaches, and `released`: leaving a compliance hold to be posted. */
export type StatusChange = TransferStatus | 'released';

/**
 * Told of every status change, inside the change's own transaction, so that what it records commits
 * with the change or not at all (the webhooks' outbox, wired in by src/services.ts). `interested` is
 * an SQL condition on the changed `transfers` row, evaluated by the change's own RETURNING (no extra
 * round trip): the listener is called only for rows it holds true for.
 */
export type StatusChangeListener = {
  interested: string;
  changed: (trx: Db, row: TransferRow, status: StatusChange) => Promise<void>;
};

/** A row a status change returns: the transfer, and whether the listener wants to hear of it. */
type ChangedRow = TransferRow & { listener_interested?: boolean };

/** Statuses a transfer may leave for its outcome. */
const OPEN: TransferStatus[] = ['processing', 'held', 'sent'];

/**
 * Persistence of transfers: the API's source of truth. Every state change is a conditional UPDATE
 * (from the states it may come from), so a repeated workflow step changes nothing the second time.
 * Writes take the database handle last: the pool, or a caller's transaction.
 */
export function createTransferRepository(db: Db, listener?: StatusChangeListener) {
  /** RETURNING for a status change: the row, and the listener's interest in it. */
  const changedRow = (trx: Db) => ['*', ...(listener ? [trx.raw(`(${listener.interested}) AS listener_interested`) as unknown as string] : [])];
  const raise = async (trx: Db, row: ChangedRow | undefined, status: StatusChange) => {
    if (listener && row?.listener_interested) await listener.changed(trx, row, status);
  };
  const get = (id: string, trx: Db = db) => trx('transfers').where({ id }).first<TransferRow | undefined>();

  async function mustGet(id: string, trx: Db = db): Promise<TransferRow> {
    const row = await get(id, trx);
    if (!row) throw new Error(`Transfer ${id} not found`);
    return row;
  }

  /** The row, locked for the caller's transaction: the workflow step that changes it is the only one. */
  async function lock(id: string, trx: Db): Promise<TransferRow> {
    const row = await trx('transfers').where({ id }).forNoKeyUpdate().first<TransferRow | undefined>();
    if (!row) throw new Error(`Transfer ${id} not found`);
    return row;
  }

  const touch = (trx: Db, columns: Record<string, unknown>) => ({ ...columns, updated_at: trx.fn.now() });

  /** Counts a row this step moved into a state with a response code (held, or an outcome), once it commits. */
  const countState = (trx: Db, row: Pick<TransferRow, 'kind' | 'status' | 'response_code'> | undefined) => {
    if (row?.response_code) afterCommit(trx, () => movementOutcomes.inc({ kind: row.kind, status: row.status, response_code: row.response_code as string }));
  };

  /** The ledger reservation of a held transfer (its `hold_id` column). */
  async function linkReservation(id: string, reservationId: string, trx: Db = db): Promise<void> {
    await trx('transfers').where({ id }).update(touch(trx, { hold_id: reservationId }));
  }

  async function linkLedgerTransaction(id: string, ledgerTransactionId: string, trx: Db = db): Promise<void> {
    await trx('transfers').where({ id }).update(touch(trx, { ledger_transaction_id: ledgerTransactionId }));
  }

  /**
   * What the preparation step decided, in one UPDATE: the price, the screening, the reservation or
   * the posting, and the new state (held, or its outcome) when it is not `processing` any more.
   */
  async function recordPreparation(
    id: string,
    prepared: {
      price?: PriceRecord;
      screeningId?: string;
      /** The ledger reservation of a held movement. */
      reservationId?: string;
      ledgerTransactionId?: string;
      held?: { expiresInSeconds: number; reason: string };
      outcome?: TransferOutcomeRecord;
    },
    trx: Db,
  ): Promise<TransferRow> {
    const columns: Record<string, unknown> = {
      ...(prepared.price ? priceColumns(prepared.price) : {}),
      ...(prepared.screeningId ? { screening_id: prepared.screeningId } : {}),
      ...(prepared.reservationId ? { hold_id: prepared.reservationId } : {}),
      ...(prepared.ledgerTransactionId ? { ledger_transaction_id: prepared.ledgerTransactionId } : {}),
    };
    if (prepared.held) Object.assign(columns, heldColumns(trx, prepared.held));
    if (prepared.outcome) Object.assign(columns, outcomeColumns(trx, prepared.outcome));
    const [row] = await trx('transfers').where({ id, status: 'processing' }).update(touch(trx, columns)).returning<ChangedRow[]>(changedRow(trx));
    if (prepared.held || prepared.outcome) {
      countState(trx, row);
      await raise(trx, row, row?.status ?? 'processing');
    }
    return row ?? mustGet(id, trx);
  }

  const heldColumns = (trx: Db, held: { expiresInSeconds: number; reason: string }) => ({
    status: 'held',
    response_code: ResponseCode.Quarantined,
    message: `${RESPONSE_MESSAGES[ResponseCode.Quarantined]}: ${held.reason}`.slice(0, 500),
    held_at: trx.fn.now(),
    hold_expires_at: trx.raw(`now() + make_interval(secs => ?)`, [held.expiresInSeconds]),
  });

  const outcomeColumns = (trx: Db, outcome: TransferOutcomeRecord) => ({
    status: outcome.status,
    response_code: outcome.responseCode,
    message: outcome.message.slice(0, 500),
    completed_at: trx.fn.now(),
  });

  /** processing → held (seed 001's 12 quarantined), with when the hold expires; a repeat changes nothing. */
  async function hold(id: string, input: { expiresInSeconds: number; reason: string }, trx: Db = db): Promise<void> {
    await inTransaction(trx, async (t) => {
      const [row] = await t('transfers').where({ id, status: 'processing' }).update(touch(t, heldColumns(t, input))).returning<ChangedRow[]>(changedRow(t));
      countState(t, row);
      await raise(t, row, 'held');
    });
  }

  /** held → processing once released, to be posted. */
  async function resume(id: string, trx: Db = db): Promise<void> {
    await inTransaction(trx, async (t) => {
      const [row] = await t('transfers').where({ id, status: 'held' }).update(touch(t, { status: 'processing', response_code: null, message: null })).returning<ChangedRow[]>(changedRow(t));
      await raise(t, row, 'released');
    });
  }

  /** A payout accepted by the rail: on its way, not settled yet. */
  async function markSent(id: string, railReference: string, trx: Db = db): Promise<void> {
    await inTransaction(trx, async (t) => {
      const [row] = await t('transfers').where({ id, status: 'processing' }).update(touch(t, { status: 'sent', rail_reference: railReference, sent_at: t.fn.now() })).returning<ChangedRow[]>(changedRow(t));
      await raise(t, row, 'sent');
    });
  }

  async function linkSettlement(id: string, ledgerTransactionId: string, trx: Db = db): Promise<void> {
    await trx('transfers').where({ id }).update(touch(trx, { settlement_transaction_id: ledgerTransactionId, settled_at: trx.fn.now() }));
  }

  async function linkReversal(id: string, ledgerTransactionId: string, trx: Db = db): Promise<void> {
    await trx('transfers').where({ id }).update(touch(trx, { reversal_transaction_id: ledgerTransactionId }));
  }

  /** completed → returned: the beneficiary's bank sent a settled payout back and it was reversed. */
  async function markReturned(id: string, message: string, trx: Db = db): Promise<void> {
    await inTransaction(trx, async (t) => {
      const [row] = await t('transfers')
        .where({ id, status: 'completed' })
        .update(touch(t, { status: 'returned', response_code: ResponseCode.ContactSupport, message: message.slice(0, 500) }))
        .returning<ChangedRow[]>(changedRow(t));
      countState(t, row);
      await raise(t, row, 'returned');
    });
  }

  /** Records the price once: a retried pricing step keeps (and returns) the first price. */
  async function recordPrice(id: string, price: PriceRecord, trx: Db = db): Promise<TransferRow> {
    const [priced] = await trx('transfers').where({ id }).whereNull('priced_at').update(touch(trx, priceColumns(price))).returning<TransferRow[]>('*');
    return priced ?? mustGet(id, trx);
  }

  /**
   * Moves a transfer out of `processing` (or held, or sent), once, with any links the same step
   * made (e.g. its posting). A repeat (activity retry) finds it already recorded and returns it unchanged.
   */
  async function recordOutcome(id: string, outcome: TransferOutcomeRecord, trx: Db = db, links: Record<string, string> = {}): Promise<TransferRow> {
    return inTransaction(trx, async (t) => {
      const [updated] = await t('transfers').whereIn('status', OPEN).andWhere({ id }).update(touch(t, { ...outcomeColumns(t, outcome), ...links })).returning<ChangedRow[]>(changedRow(t));
      countState(t, updated);
      await raise(t, updated, outcome.status);
      return updated ?? mustGet(id, t);
    });
  }

  return {
    get,
    mustGet,
    lock,
    linkReservation,
    linkLedgerTransaction,
    recordPrice,
    recordPreparation,
    hold,
    resume,
    markSent,
    linkSettlement,
    linkReversal,
    markReturned,
    recordOutcome,
  };
}

export type TransferRepository = ReturnType<typeof createTransferRepository>;
