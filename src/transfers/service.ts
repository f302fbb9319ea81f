import { randomInt, randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import { isPgError, PG_UNIQUE_VIOLATION } from '../db/knex';
import { ApiError, ApiErrorCode } from '../api/errors';
import { requestHash } from '../api/idempotency';
import { parseAmountField } from '../api/validation';
import type { Principal } from '../auth/service';
import type { AccountService } from '../accounts/service';
import type { LedgerService } from '../ledger/service';
import type { AccountWithCurrency } from '../ledger/model';
import { transferWorkflowId, type TransferWorkflowInput } from '../../workflows/transfer-definitions';
import type { TransferRow } from './model';
import type { TransferStatus } from './outcomes';

export type CreateTransferInput = {
  source_account_id: string;
  destination_account_id: string;
  source_amount?: string;
  target_amount?: string;
  reference: string;
  description?: string;
  external_id?: string;
  metadata?: Record<string, string>;
};

export type TransferListFilter = { accountId?: string; status?: TransferStatus; limit: number; after?: { created_at: string; id: string } };

/** Human-readable reference like seed 004's refId ("WTCXC0VJV0"): no 0/O or 1/I to misread. */
const REF_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const newRefId = () => Array.from({ length: 10 }, () => REF_ALPHABET[randomInt(REF_ALPHABET.length)]).join('');

/** Client keys share one idempotency namespace per customer; admin keys have their own. */
const idempotencyScope = (p: Principal) => (p.customerId ? `customer:${p.customerId}` : `key:${p.keyId}`);

export function toWorkflowInput(t: TransferRow): TransferWorkflowInput {
  return {
    transferId: t.id,
    customerId: t.customer_id,
    sourceAccountId: t.source_account_id,
    destinationAccountId: t.destination_account_id,
    sourceAmount: t.source_amount,
    sourceCurrency: t.source_currency.trim(),
    targetAmount: t.target_amount,
    targetCurrency: t.target_currency.trim(),
    reference: t.reference,
  };
}

export function createTransferService(deps: { db: Db; accounts: AccountService; ledger: LedgerService }) {
  const { db, accounts } = deps;

  async function findByIdempotencyKey(principal: Principal, key: string) {
    return db('transfers').where({ idempotency_scope: idempotencyScope(principal), idempotency_key: key }).first<TransferRow | undefined>();
  }

  function replayOrConflict(existing: TransferRow, hash: string): TransferRow {
    if (existing.request_hash !== hash) {
      throw ApiError.of(
        ApiErrorCode.IdempotencyKeyReused,
        'This Idempotency-Key was already used with a different request body.',
        'header/Idempotency-Key',
      );
    }
    return existing;
  }

  /**
   * Records a transfer in `processing`, once per idempotency key. Everything that makes the
   * request invalid is checked here, before anything is written; business rules that depend on
   * the accounts' state (status, funds) are the workflow's to decide.
   */
  async function create(principal: Principal, idempotencyKey: string, input: CreateTransferInput): Promise<{ transfer: TransferRow; replayed: boolean }> {
    const hash = requestHash(input);
    const earlier = await findByIdempotencyKey(principal, idempotencyKey);
    if (earlier) return { transfer: replayOrConflict(earlier, hash), replayed: true };

    const source = await accounts.getVisible(principal, input.source_account_id);
    if (!source) throw ApiError.of(ApiErrorCode.AccountNotFound, 'No source account with this id.', '#/source_account_id');
    const destination = await deps.ledger.getAccount(input.destination_account_id);
    if (!destination || destination.kind !== 'customer') {
      throw ApiError.of(ApiErrorCode.AccountNotFound, 'No destination account with this id.', '#/destination_account_id');
    }
    const { sourceAmount, targetAmount } = priceSameCurrency(input, source, destination);

    const id = randomUUID();
    const row = {
      id,
      customer_id: source.customer_id,
      created_by_key_id: principal.keyId,
      idempotency_scope: idempotencyScope(principal),
      idempotency_key: idempotencyKey,
      request_hash: hash,
      source_account_id: source.id,
      destination_account_id: destination.id,
      source_amount: sourceAmount,
      source_currency: source.currency,
      target_amount: targetAmount,
      target_currency: destination.currency,
      reference: input.reference,
      description: input.description ?? null,
      external_id: input.external_id ?? null,
      metadata: JSON.stringify(input.metadata ?? {}),
      workflow_id: transferWorkflowId(id),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const [inserted] = await db('transfers')
          .insert({ ...row, ref_id: newRefId() })
          .onConflict(['idempotency_scope', 'idempotency_key'])
          .ignore()
          .returning<TransferRow[]>('*');
        if (inserted) return { transfer: inserted, replayed: false };
        // A concurrent request with the same key committed first: it is the transfer.
        const winner = await findByIdempotencyKey(principal, idempotencyKey);
        if (!winner) throw new Error('Idempotency conflict without a winning transfer');
        return { transfer: replayOrConflict(winner, hash), replayed: true };
      } catch (err) {
        if (isPgError(err, PG_UNIQUE_VIOLATION, 'transfers_external_id_uq')) {
          // A concurrent duplicate of this very request holds the external_id: it is a replay.
          const winner = await findByIdempotencyKey(principal, idempotencyKey);
          if (winner) return { transfer: replayOrConflict(winner, hash), replayed: true };
          throw ApiError.of(ApiErrorCode.ExternalIdAlreadyUsed, 'Another transfer already has this external_id.', '#/external_id');
        }
        if (isPgError(err, PG_UNIQUE_VIOLATION, 'transfers_ref_id_uq') && attempt < 3) continue;
        throw err;
      }
    }
  }

  /**
   * A client sees the transfers it sends (any status) and the completed ones it receives:
   * a payee learns nothing of a payer's declines, nor of its reasons.
   */
  function visibleTo(principal: Principal) {
    return (q: ReturnType<typeof db>) => {
      if (principal.role !== 'client') return;
      q.where((w) =>
        w.where('transfers.customer_id', principal.customerId).orWhere((incoming) =>
          incoming
            .where('transfers.status', 'completed')
            .whereIn('transfers.destination_account_id', db('accounts').select('id').where({ customer_id: principal.customerId })),
        ),
      );
    };
  }

  /** The current row of a transfer the caller has just created or replayed. */
  async function reload(t: TransferRow): Promise<TransferRow> {
    return (await db('transfers').where({ id: t.id }).first<TransferRow | undefined>()) ?? t;
  }

  async function getVisible(principal: Principal, id: string): Promise<TransferRow | undefined> {
    const q = db('transfers').where('transfers.id', id);
    visibleTo(principal)(q);
    return q.first<TransferRow | undefined>();
  }

  async function list(principal: Principal, filter: TransferListFilter): Promise<{ transfers: TransferRow[]; next: { created_at: string; id: string } | null }> {
    // The cursor carries created_at at full (microsecond) precision, as Postgres sorts it.
    const q = db('transfers')
      .select('transfers.*', db.raw(`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_created_at`))
      .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]);
    visibleTo(principal)(q);
    if (filter.accountId) {
      const accountId = filter.accountId;
      q.where((w) => w.where('source_account_id', accountId).orWhere('destination_account_id', accountId));
    }
    if (filter.status) q.where('status', filter.status);
    if (filter.after) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [filter.after.created_at, filter.after.id]);
    const rows = (await q.limit(filter.limit + 1)) as Array<TransferRow & { cursor_created_at: string }>;
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      transfers: page,
      next: rows.length > filter.limit && last ? { created_at: last.cursor_created_at, id: last.id } : null,
    };
  }

  return { create, reload, getVisible, list };
}

export type TransferService = ReturnType<typeof createTransferService>;

/**
 * Seed 002, same currency: exactly one of source_amount / target_amount is given and the other equals it.
 * Each is validated against its own account's currency (decimals, sign, size).
 */
function priceSameCurrency(input: CreateTransferInput, source: AccountWithCurrency, destination: AccountWithCurrency) {
  if ((input.source_amount === undefined) === (input.target_amount === undefined)) {
    throw ApiError.of(ApiErrorCode.InvalidValue, 'Give exactly one of source_amount or target_amount.', '#/source_amount');
  }
  if (source.currency !== destination.currency) {
    throw ApiError.of(
      ApiErrorCode.CrossCurrencyNotSupported,
      'The source and destination accounts hold different currencies; cross-currency transfers are not supported yet.',
      '#/destination_account_id',
    );
  }
  const amount =
    input.source_amount !== undefined
      ? parseAmountField(input.source_amount, source.minor_units, '#/source_amount')
      : parseAmountField(input.target_amount, destination.minor_units, '#/target_amount');
  return { sourceAmount: amount.toString(), targetAmount: amount.toString() };
}
