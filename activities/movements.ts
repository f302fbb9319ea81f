/**
 * The money steps of a transfer or payout, each one database transaction that is safe to repeat:
 * prepare (validate, price, screen, then post, or reserve when held for compliance), post (a
 * released reservation), and refuse (release the reservation and record why). Each reads what it
 * needs first, then locks the transfer's row and writes its decision whole, so a repeat (a retried
 * workflow step) finds the first attempt's decision and returns it. The activities of transfers,
 * holds and payouts are built over these.
 */
import type { Screening } from '../src/compliance/engine';
import { ComplianceRefusal } from '../src/compliance/refusals';
import type { ComplianceService } from '../src/compliance/service';
import type { Db } from '../src/db/knex';
import { movementLegs } from '../src/ledger/legs';
import type { LedgerService, PostTransactionInput } from '../src/ledger/service';
import type { PricingRequest, PricingService, PriceRecord } from '../src/pricing/service';
import { Refusal } from '../src/refusal';
import type { TransferRow } from '../src/transfers/model';
import { outcomeOf, type TransferRepository } from '../src/transfers/repository';
import { checkMovement, loadParties } from '../src/transfers/validation';
import { SUCCESS, type Preparation, type RecordedOutcome, type Refused } from '../workflows/contract';
import { endsMovement, outcomeOfRefusal, type MovementRefusalCode } from './refusals';

/** Idempotency keys of a transfer's ledger writes: the transfer id plus the step. */
export const ledgerKey = (transferId: string, step: 'reserve' | 'post' | 'settle' | 'reverse-settlement' | 'reverse-posting') => `transfer:${transferId}:${step}`;

export type MovementStepDeps = { db: Db; ledger: LedgerService; pricing: PricingService; compliance: ComplianceService; transfers: TransferRepository };

/** What preparation finds before it locks anything: a refusal, or the price (if it had none) and the screening. */
type Assessment = { refusal: Refusal<MovementRefusalCode> } | { price?: PriceRecord; screening: Screening };

/** A refusal the ledger can raise that is the movement's business outcome (insufficient funds, say); rethrows any other error. */
function asMovementRefusal(err: unknown): Refusal<MovementRefusalCode> {
  if (endsMovement(err)) return err;
  throw err;
}

export function createMovementSteps(deps: MovementStepDeps) {
  const { db, ledger, pricing, compliance, transfers } = deps;

  /** The pricing request a transfer carries: the amount the client gave, its rate and fee overrides. */
  function pricingRequestOf(t: TransferRow): PricingRequest {
    return {
      operation: t.operation_type,
      sourceCurrency: t.source_currency.trim(),
      targetCurrency: t.target_currency.trim(),
      given: t.source_amount !== null ? { side: 'source', amount: t.source_amount } : { side: 'target', amount: t.target_amount as string },
      clientRate: t.client_fx_rate ?? undefined,
      overrides: t.override_fees ?? undefined,
    };
  }

  /** The price of a transfer not priced yet (a quoted one was priced when it was recorded). */
  async function priceOf(t: TransferRow): Promise<{ price: PriceRecord } | { refusal: Refusal<MovementRefusalCode> }> {
    const priced = await pricing.price(pricingRequestOf(t));
    return priced.ok ? { price: priced.price } : { refusal: asMovementRefusal(new Refusal(priced.error.code, priced.error.message)) };
  }

  /** Everything preparation decides that needs no lock: the parties' checks, the price, the screening. */
  async function assess(t: TransferRow): Promise<Assessment> {
    const parties = await loadParties(db, t);
    const invalid = checkMovement(t, parties);
    if (invalid) return { refusal: asMovementRefusal(invalid) };
    const priced = t.priced_at ? undefined : await priceOf(t);
    if (priced && 'refusal' in priced) return priced;
    const price = priced?.price;
    return { price, screening: await compliance.screen(price ? withPrice(t, price) : t, parties) };
  }

  /**
   * Validate → price → screen → post, decided in one commit: declined (with its code), held for a
   * compliance decision (its funds reserved instead of posted), or posted (a transfer completed, a
   * payout on its way to the rail).
   */
  async function prepare(transferId: string, holdTtlSeconds: number): Promise<Preparation> {
    const before = await transfers.mustGet(transferId);
    const earlier = preparationOf(before);
    if (earlier) return earlier;
    const assessed = await assess(before);
    // Everything read through the pool is read before the transaction opens: a transaction that
    // waited for a second pool connection could wait for ever when every connection is such a one.
    const posting = 'screening' in assessed && assessed.screening.outcome === 'approve' ? await postingOf(assessed.price ? withPrice(before, assessed.price) : before) : undefined;
    return db.transaction(async (trx) => {
      const t = await transfers.lock(transferId, trx);
      const decided = preparationOf(t);
      if (decided) return decided; // another attempt of this step committed first
      if ('refusal' in assessed) return recordRefusal(t, assessed.refusal, {}, trx);
      return decide(t, assessed, { holdTtlSeconds, posting }, trx);
    });
  }

  /** The screened movement, under its row's lock: declined, held (its funds reserved), or posted. */
  async function decide(t: TransferRow, assessed: Exclude<Assessment, { refusal: unknown }>, plan: { holdTtlSeconds: number; posting?: PostTransactionInput }, trx: Db): Promise<Preparation> {
    const { price, screening } = assessed;
    const screeningId = (await compliance.recordScreening(t, screening, trx)).id;
    const summary = compliance.summarize(screening);
    const columns = { price, screeningId };
    if (screening.outcome === 'decline') return recordRefusal(t, new Refusal(ComplianceRefusal.Declined, summary), columns, trx);
    if (screening.outcome === 'hold') {
      // Quarantined (response code 12): the funds are reserved until a compliance officer decides.
      const amount = price?.source_amount ?? (t.source_amount as string);
      const reservation = await ledger.reserve({ idempotencyKey: ledgerKey(t.id, 'reserve'), accountId: t.source_account_id, currency: t.source_currency, amount, transferId: t.id }, trx).catch(asMovementRefusal);
      if (reservation instanceof Refusal) return recordRefusal(t, reservation, columns, trx);
      const held = await transfers.recordPreparation(t.id, { ...columns, reservationId: reservation.id, held: { expiresInSeconds: plan.holdTtlSeconds, reason: summary } }, trx);
      return preparationOf(held) as Preparation;
    }
    // Approved: posted in this same commit (no reservation needed); a transfer is then complete.
    const attempt = await ledger.tryPostTransaction(plan.posting as PostTransactionInput, trx);
    if ('refused' in attempt) return recordRefusal(t, asMovementRefusal(attempt.refused), columns, trx);
    const outcome = t.kind === 'transfer' ? SUCCESS : undefined;
    return preparationOf(await transfers.recordPreparation(t.id, { ...columns, ledgerTransactionId: attempt.posted.id, outcome }, trx)) as Preparation;
  }

  async function recordRefusal(t: TransferRow, refusal: Refusal<MovementRefusalCode>, columns: { price?: PriceRecord; screeningId?: string }, trx: Db): Promise<Preparation> {
    const row = await transfers.recordPreparation(t.id, { ...columns, outcome: outcomeOfRefusal(refusal) }, trx);
    return preparationOf(row) as Preparation;
  }

  /** The balanced posting of a priced transfer, consuming its reservation if it has one. */
  async function postingOf(t: TransferRow): Promise<PostTransactionInput> {
    const legs = await movementLegs(
      {
        sourceAccountId: t.source_account_id,
        destinationAccountId: t.destination_account_id,
        sourceCurrency: t.source_currency,
        targetCurrency: t.target_currency,
        sourceAmount: t.source_amount as string,
        targetAmount: t.target_amount as string,
        fixedFee: t.fixed_fee ?? '0',
        spreadFee: t.spread_fee ?? '0',
        reference: t.reference,
        feeDescription: t.calculated_fees?.[t.operation_type]?.tx_description ?? `Fee: ${t.operation_type}`,
      },
      ledger.getSystemAccount,
    );
    return {
      idempotencyKey: ledgerKey(t.id, 'post'),
      kind: t.kind === 'payout' ? 'payout' : 'transfer',
      transferId: t.id,
      reference: t.reference,
      description: t.description ?? t.reference,
      consumeReservationId: t.hold_id ?? undefined,
      legs,
    };
  }

  /**
   * Posts the transfer and records it completed, in one commit. A payout is posted to the payouts
   * in transit account and stays open (`complete: false`): the rail settles it later.
   */
  async function post(transferId: string, opts: { complete: boolean }): Promise<RecordedOutcome | null> {
    const t = await transfers.mustGet(transferId);
    const recorded = outcomeOf(t);
    if (recorded || (t.ledger_transaction_id && !opts.complete)) return recorded;
    const posting = await postingOf(t);
    return db.transaction(async (trx) => {
      // The transfer's row first, as every step that changes it locks it (then reservations, then accounts).
      const row = await transfers.lock(transferId, trx);
      if (outcomeOf(row) || (row.ledger_transaction_id && !opts.complete)) return outcomeOf(row);
      const posted = await ledger.postTransaction(posting, trx);
      if (!opts.complete) {
        await transfers.linkLedgerTransaction(transferId, posted.id, trx);
        return null;
      }
      return outcomeOf(await transfers.recordOutcome(transferId, SUCCESS, trx, { ledger_transaction_id: posted.id }));
    });
  }

  /**
   * Ends a transfer that will not be posted: its reservation (if any) is given back and the outcome
   * recorded, in one commit. An outcome already recorded stands; a movement already posted (and
   * not complete: a payout in transit) is not refused (`posted`).
   */
  async function refuse(transferId: string, outcome: RecordedOutcome, trx?: Db): Promise<Refused> {
    const run = async (t: Db): Promise<Refused> => {
      const row = await transfers.lock(transferId, t);
      const recorded = outcomeOf(row);
      if (recorded) return { outcome: recorded };
      // Posted already (a payout in transit, posted by a step the workflow stopped waiting for):
      // nothing is refused; the payout goes on its way, and only a reversal can undo it.
      if (row.ledger_transaction_id) return { posted: true };
      if (row.hold_id) await ledger.releaseReservation(row.hold_id, t);
      return { outcome: outcomeOf(await transfers.recordOutcome(transferId, outcome, t)) as RecordedOutcome };
    };
    return trx ? run(trx) : db.transaction(run);
  }

  return { prepare, post, refuse, priceOf, postingOf };
}

export type MovementSteps = ReturnType<typeof createMovementSteps>;

/** What an earlier preparation of this transfer decided, read off its row; undefined when none did. */
export function preparationOf(t: TransferRow): Preparation | undefined {
  const outcome = outcomeOf(t);
  if (outcome) return { next: 'done', outcome };
  if (t.status === 'held') return { next: 'await_decision', reason: t.message ?? '' };
  if (t.ledger_transaction_id) return { next: 'posted' };
  if (t.hold_id) return { next: 'post' };
  return undefined;
}

/** A transfer row as the price makes it: the amounts, fees and rate a posting needs. */
function withPrice(t: TransferRow, price: PriceRecord): TransferRow {
  return {
    ...t,
    operation_type: price.operation,
    source_amount: price.source_amount,
    target_amount: price.target_amount,
    fixed_fee: price.fixed_fee,
    spread_fee: price.spread_fee,
    fx_rate: price.fx_rate,
    market_rate: price.market_rate,
    calculated_fees: price.calculated_fees,
  };
}
