import { randomInt, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { isPgError, PG_UNIQUE_VIOLATION } from '../db/knex';
import { requestHash } from '../http/idempotency';
import { DecimalString } from '../http/validation';
import { principalScope, type Principal } from '../auth/service';
import { AccountRefusal } from '../accounts/refusals';
import { visibleTo as visibleAccount, type AccountService } from '../accounts/service';
import type { LedgerService } from '../ledger/service';
import { payoutWorkflowId, transferWorkflowId, type TransferStatus } from '../../workflows/contract';
import type { AccountWithCurrency } from '../ledger/model';
import { priceColumns, type TransferRow } from './model';
import type { QuoteService } from '../pricing/quotes';
import { Money } from '../money/money';
import { isRefusal, Refusal } from '../refusal';
import { PricingRefusal } from '../pricing/refusals';
import { buildPricingRequest, type PriceFields } from '../pricing/request';
import { defaultOperation, type PriceRecord } from '../pricing/service';
import { TransferRefusal } from './refusals';

export type CreateTransferInput = PriceFields & {
  source_account_id: string;
  destination_account_id: string;
  reference: string;
  description?: string;
  external_id?: string;
  metadata?: Record<string, string>;
  quote_id?: string;
};

export type CreatePayoutInput = PriceFields & {
  source_account_id: string;
  beneficiary_id: string;
  reference: string;
  description?: string;
  external_id?: string;
  metadata?: Record<string, string>;
};

export type TransferListFilter = { kind?: 'transfer' | 'payout'; accountId?: string; status?: TransferStatus; limit: number; after?: { created_at: string; id: string } };

/** Human-readable reference like seed 004's refId ("WTCXC0VJV0"): no 0/O or 1/I to misread. */
const REF_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const newRefId = () => Array.from({ length: 10 }, () => REF_ALPHABET[randomInt(REF_ALPHABET.length)]).join('');

const idempotencyScope = principalScope;

export function createTransferService(deps: { db: Db; accounts: AccountService; ledger: LedgerService; quotes: QuoteService }) {
  const { db, accounts } = deps;

  async function findByIdempotencyKey(principal: Principal, key: string) {
    return db('transfers').where({ idempotency_scope: idempotencyScope(principal), idempotency_key: key }).first<TransferRow | undefined>();
  }

  function replayOrConflict(existing: TransferRow, hash: string): TransferRow {
    if (existing.request_hash !== hash) {
      throw new Refusal(TransferRefusal.IdempotencyKeyReused, 'This Idempotency-Key was already used with a different request body.', 'header/Idempotency-Key');
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

    // Both accounts in one query: the source must be the caller's, the destination any customer's.
    const found = await deps.ledger.getAccounts([input.source_account_id, input.destination_account_id]);
    const source = visibleAccount(principal, found.get(input.source_account_id));
    if (!source) throw new Refusal(AccountRefusal.NotFound, 'No source account with this id.', '#/source_account_id');
    const destination = found.get(input.destination_account_id);
    if (!destination || destination.kind !== 'customer') {
      throw new Refusal(AccountRefusal.NotFound, 'No destination account with this id.', '#/destination_account_id');
    }
    const units = { source: { code: source.currency.trim(), minorUnits: source.minor_units }, target: { code: destination.currency.trim(), minorUnits: destination.minor_units } };
    const row = newRow(principal, idempotencyKey, hash, source, destination, input, { kind: 'transfer', operation_type: defaultOperation(units.source.code, units.target.code) });
    const id = row.id as string;
    if (input.quote_id === undefined) {
      // Priced by the workflow; here only the request is checked and kept.
      const request = buildPricingRequest(principal, units, input);
      row[request.given.side === 'source' ? 'source_amount' : 'target_amount'] = request.given.amount;
      row.client_fx_rate = request.clientRate ?? null;
      row.override_fees = request.overrides ? JSON.stringify(request.overrides) : null;
    } else if (input.fx_rate !== undefined || input.override_fees !== undefined) {
      throw new Refusal(PricingRefusal.QuoteMismatch, 'A quoted transfer takes its rate and fees from the quote.', '#/quote_id');
    }

    const quoteId = input.quote_id;
    if (quoteId === undefined) return insertOnce(principal, idempotencyKey, hash, row);
    return insertOnce(principal, idempotencyKey, hash, row, async (trx) => {
      const quote = await deps.quotes.lockForTransfer(trx, {
        quoteId,
        ownerScope: idempotencyScope(principal),
        transferId: id,
        sourceAccountId: source.id,
        sourceCurrency: units.source.code,
        targetCurrency: units.target.code,
      });
      assertAmountsMatchQuote(input, quote.price);
      Object.assign(row, priceColumns(quote.price), { quote_id: quote.id });
    });
  }

  /** The columns every new transfer or payout starts with, in `processing`. */
  function newRow(
    principal: Principal,
    idempotencyKey: string,
    hash: string,
    source: AccountWithCurrency,
    destination: AccountWithCurrency,
    input: Pick<CreateTransferInput, 'reference' | 'description' | 'external_id' | 'metadata'>,
    extra: { kind: 'transfer' | 'payout'; operation_type: string; beneficiary_id?: string },
  ): Record<string, unknown> {
    const id = randomUUID();
    return {
      id,
      customer_id: source.customer_id,
      created_by_key_id: principal.keyId,
      idempotency_scope: idempotencyScope(principal),
      idempotency_key: idempotencyKey,
      request_hash: hash,
      source_account_id: source.id,
      destination_account_id: destination.id,
      source_currency: source.currency.trim(),
      target_currency: destination.currency.trim(),
      reference: input.reference,
      description: input.description ?? null,
      external_id: input.external_id ?? null,
      metadata: JSON.stringify(input.metadata ?? {}),
      workflow_id: extra.kind === 'payout' ? payoutWorkflowId(id) : transferWorkflowId(id),
      ...extra,
    };
  }

  /**
   * Records a payout (seed 001's pay_out) in `processing`: a transfer from the source account to the
   * payouts-in-transit account of the beneficiary's currency, priced with the `payout` tariff.
   */
  async function createPayout(principal: Principal, idempotencyKey: string, input: CreatePayoutInput): Promise<{ transfer: TransferRow; replayed: boolean }> {
    const hash = requestHash({ ...input, kind: 'payout' });
    const earlier = await findByIdempotencyKey(principal, idempotencyKey);
    if (earlier) return { transfer: replayOrConflict(earlier, hash), replayed: true };

    const source = await accounts.getVisible(principal, input.source_account_id);
    if (!source) throw new Refusal(AccountRefusal.NotFound, 'No source account with this id.', '#/source_account_id');
    const beneficiary = await db('beneficiaries').where({ id: input.beneficiary_id }).first<{ id: string; customer_id: string; currency: string } | undefined>();
    if (!beneficiary || beneficiary.customer_id !== source.customer_id) {
      throw new Refusal(TransferRefusal.BeneficiaryNotFound, "No beneficiary with this id for the source account's holder.", '#/beneficiary_id');
    }
    const inTransit = await deps.ledger.getSystemAccount('payouts_in_transit', beneficiary.currency.trim());
    const destination = (await deps.ledger.getAccount(inTransit.id)) as AccountWithCurrency;
    const units = { source: { code: source.currency.trim(), minorUnits: source.minor_units }, target: { code: destination.currency.trim(), minorUnits: destination.minor_units } };
    const request = buildPricingRequest(principal, { ...units, operation: 'payout' }, input);
    const row = newRow(principal, idempotencyKey, hash, source, destination, input, { kind: 'payout', operation_type: 'payout', beneficiary_id: beneficiary.id });
    row[request.given.side === 'source' ? 'source_amount' : 'target_amount'] = request.given.amount;
    row.client_fx_rate = request.clientRate ?? null;
    row.override_fees = request.overrides ? JSON.stringify(request.overrides) : null;
    return insertOnce(principal, idempotencyKey, hash, row);
  }

  /**
   * Inserts the transfer, once per idempotency key: a concurrent request with the same key finds
   * the first one and replays it. With `lockQuote`, the quote is locked for it in the same database
   * transaction; without, the insert is one statement.
   */
  async function insertOnce(
    principal: Principal,
    idempotencyKey: string,
    hash: string,
    row: Record<string, unknown>,
    lockQuote?: (trx: Knex.Transaction) => Promise<void>,
  ): Promise<{ transfer: TransferRow; replayed: boolean }> {
    const replay = async () => {
      const winner = await findByIdempotencyKey(principal, idempotencyKey);
      return winner ? { transfer: replayOrConflict(winner, hash), replayed: true } : undefined;
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const insert = async (trx: Db) => {
          const [created] = await trx('transfers')
            .insert({ ...row, ref_id: newRefId() })
            .onConflict(['idempotency_scope', 'idempotency_key'])
            .ignore()
            .returning<TransferRow[]>('*');
          // A concurrent request with the same key committed first: undo (e.g. the quote lock) and replay it.
          if (!created) throw new DuplicateRequest();
          return created;
        };
        const inserted = lockQuote
          ? await db.transaction(async (trx) => {
              await lockQuote(trx);
              return insert(trx);
            })
          : await insert(db);
        return { transfer: inserted, replayed: false };
      } catch (err) {
        if (err instanceof DuplicateRequest) {
          const found = await replay();
          if (found) return found;
          throw new Error('Idempotency conflict without a winning transfer', { cause: err });
        }
        if (isPgError(err, PG_UNIQUE_VIOLATION, 'transfers_external_id_uq')) {
          // A concurrent duplicate of this very request holds the external_id: it is a replay.
          const found = await replay();
          if (found) return found;
          throw new Refusal(TransferRefusal.ExternalIdAlreadyUsed, 'Another transfer already has this external_id.', '#/external_id');
        }
        if (isRefusal(err, PricingRefusal.QuoteAlreadyUsed)) {
          // Used by a concurrent duplicate of this very request? Then that transfer is the answer.
          const found = await replay();
          if (found) return found;
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

  /**
   * The row a list cursor names ({created_at, id} of the last item of a page), if the caller may
   * list it: of this kind, with exactly this created_at, and visible to the caller.
   */
  async function findListed(principal: Principal, kind: TransferRow['kind'], key: { created_at: string; id: string }): Promise<{ id: string } | undefined> {
    const q = db('transfers').where({ 'transfers.id': key.id, 'transfers.kind': kind }).whereRaw('transfers.created_at = ?::timestamptz', [key.created_at]);
    visibleTo(principal)(q);
    return q.first<{ id: string } | undefined>('transfers.id');
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
    if (filter.kind) q.where('kind', filter.kind);
    if (filter.after) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [filter.after.created_at, filter.after.id]);
    const rows = (await q.limit(filter.limit + 1)) as Array<TransferRow & { cursor_created_at: string }>;
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      transfers: page,
      next: rows.length > filter.limit && last ? { created_at: last.cursor_created_at, id: last.id } : null,
    };
  }

  return { create, createPayout, reload, getVisible, findListed, list };
}

export type TransferService = ReturnType<typeof createTransferService>;

class DuplicateRequest extends Error {}

/** A quoted transfer may repeat the quote's amounts, but not change them. */
function assertAmountsMatchQuote(input: CreateTransferInput, price: PriceRecord): void {
  for (const side of ['source_amount', 'target_amount'] as const) {
    const given = input[side];
    if (given !== undefined && (!DecimalString.safeParse(given).success || !new Money(given).eq(price[side]))) {
      throw new Refusal(PricingRefusal.QuoteMismatch, `${side} differs from the quote's (${price[side]}).`, `#/${side}`);
    }
  }
}
