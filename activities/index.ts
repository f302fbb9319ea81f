import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../src/db/knex';
import { isLedgerError, LedgerErrorCode } from '../src/ledger/errors';
import type { Leg, LedgerService, SystemPurpose } from '../src/ledger/service';
import type { AccountRow } from '../src/ledger/model';
import { Money } from '../src/money/money';
import type { PricingError, PricingService } from '../src/pricing/service';
import type { ComplianceService } from '../src/compliance/service';
import type { PayoutRail } from '../src/rail/client';
import { TransferFailureType } from '../src/transfers/outcomes';
import type { TransferOutcomeRecord, TransferRepository } from '../src/transfers/repository';
import type { TransferRow } from '../src/transfers/model';

export type ActivityDeps = {
  db: Db;
  ledger: LedgerService;
  transfers: TransferRepository;
  pricing: PricingService;
  compliance: ComplianceService;
  /** The payout rail adapter (the simulated bank in development and tests). */
  rail: PayoutRail;
  /** Where the rail reports settlements and returns (the API's /rail/events). */
  railCallbackUrl: () => string;
};

export type TransferRef = { transferId: string };

/** Idempotency keys of a transfer's ledger writes: the transfer id plus the step. */
export const ledgerKey = (transferId: string, step: 'reserve' | 'post') => `transfer:${transferId}:${step}`;

const decline = (type: TransferFailureType, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** Ledger refusals that are business outcomes; anything else is infrastructure and retried. */
/** Pricing refusals: the transfer is declined with a reason the client can act on. */
const PRICING_DECLINES: Record<PricingError['code'], TransferFailureType> = {
  fx_rate_unavailable: TransferFailureType.FxRateUnavailable,
  fx_rate_stale: TransferFailureType.FxRateStale,
  amount_too_small: TransferFailureType.AmountTooSmall,
  amount_too_large: TransferFailureType.AmountTooLarge,
  invalid_rate: TransferFailureType.FxRateUnavailable,
};

const LEDGER_DECLINES: Partial<Record<LedgerErrorCode, TransferFailureType>> = {
  [LedgerErrorCode.InsufficientFunds]: TransferFailureType.InsufficientFunds,
  [LedgerErrorCode.AccountNotActive]: TransferFailureType.AccountNotActive,
  [LedgerErrorCode.AccountNotFound]: TransferFailureType.AccountNotFound,
  [LedgerErrorCode.CurrencyMismatch]: TransferFailureType.CurrencyMismatch,
};

/** Postgres classes 22 (data exception) and 23 (integrity constraint): the same statement will fail again. */
const isPermanentDatabaseError = (err: unknown): err is { code: string; message: string } =>
  typeof err === 'object' && err !== null && /^2[23][0-9A-Z]{3}$/.test(String((err as { code?: unknown }).code));

function asActivityFailure(err: unknown): unknown {
  if (isLedgerError(err)) {
    const type = LEDGER_DECLINES[err.code];
    if (type) return decline(type, err.message);
    // Ledger states that retrying cannot fix (a voided hold, an unbalanced posting) are not declines
    // but they are not transient either: fail fast so the workflow compensates.
    return ApplicationFailure.create({ type: `Ledger.${err.code}`, message: err.message, nonRetryable: true });
  }
  if (isPermanentDatabaseError(err)) {
    // The message becomes the transfer's (client-visible) message: say what, not the SQL.
    return ApplicationFailure.create({
      type: `Database.${err.code}`,
      message: `the database refused the operation (SQLSTATE ${err.code})`,
      nonRetryable: true,
      details: [err.message],
    });
  }
  return err;
}

/**
 * Activities of the transfer workflow, built over explicit dependencies so tests can pass real
 * ones (a real Postgres) or wrap them (to simulate a crash). Each is safe to run more than once.
 */
export function createActivities(deps: ActivityDeps) {
  const { db, ledger, transfers, pricing, compliance, rail } = deps;

  type Party = AccountRow & { customer_status: string | null };
  const loadParty = (accountId: string) =>
    db('accounts')
      .leftJoin('customers', 'customers.id', 'accounts.customer_id')
      .where('accounts.id', accountId)
      .first<Party | undefined>('accounts.*', 'customers.status as customer_status');

  /** Seed 002's general considerations: both accounts active, their holders active; same currency for now. */
  async function validateTransfer({ transferId }: TransferRef): Promise<void> {
    const t = await transfers.mustGet(transferId);
    if (t.kind === 'payout') return validatePayout(t);
    if (t.source_account_id === t.destination_account_id) {
      throw decline(TransferFailureType.SameAccount, 'Source and destination accounts must differ');
    }
    const [source, destination] = await Promise.all([loadParty(t.source_account_id), loadParty(t.destination_account_id)]);
    for (const [role, party] of [['source', source], ['destination', destination]] as const) {
      if (!party || party.kind !== 'customer') {
        throw decline(TransferFailureType.AccountNotFound, `The ${role} account does not exist`);
      }
      // The payer may learn its own account's state, never the payee's.
      if (party.status !== 'active') {
        throw decline(
          TransferFailureType.AccountNotActive,
          role === 'source' ? `The source account is ${party.status}` : 'The destination account cannot receive funds',
        );
      }
      if (party.customer_status !== 'active') {
        throw decline(
          TransferFailureType.HolderNotActive,
          role === 'source' ? `The source account holder is ${party.customer_status}` : 'The destination account cannot receive funds',
        );
      }
    }
    if (source!.currency !== t.source_currency || destination!.currency !== t.target_currency) {
      throw decline(TransferFailureType.CurrencyMismatch, 'Amount currencies must match the accounts');
    }
  }

  /** Seed 001's pay_out: the source account and its holder active, the beneficiary active and the holder's. */
  async function validatePayout(t: TransferRow): Promise<void> {
    const source = await loadParty(t.source_account_id);
    if (!source || source.kind !== 'customer') throw decline(TransferFailureType.AccountNotFound, 'The source account does not exist');
    if (source.status !== 'active') throw decline(TransferFailureType.AccountNotActive, `The source account is ${source.status}`);
    if (source.customer_status !== 'active') throw decline(TransferFailureType.HolderNotActive, `The source account holder is ${source.customer_status}`);
    const beneficiary = await db('beneficiaries').where({ id: t.beneficiary_id }).first<{ status: string; currency: string; customer_id: string } | undefined>();
    if (!beneficiary || beneficiary.customer_id !== source.customer_id) throw decline(TransferFailureType.AccountNotFound, 'The beneficiary does not exist');
    if (beneficiary.status !== 'active') throw decline(TransferFailureType.BeneficiaryNotActive, `The beneficiary is ${beneficiary.status}`);
    if (source.currency !== t.source_currency || beneficiary.currency !== t.target_currency) {
      throw decline(TransferFailureType.CurrencyMismatch, 'Amount currencies must match the account and the beneficiary');
    }
  }

  /**
   * Seeds 002/003: the FX quote and the fees, recorded on the transfer. A transfer that carries a
   * locked quote (or was priced by an earlier attempt) keeps that price.
   */
  async function priceTransfer({ transferId }: TransferRef): Promise<PriceSummary> {
    const t = await transfers.mustGet(transferId);
    if (t.priced_at) return summarize(t);
    const given = t.source_amount !== null ? { side: 'source' as const, amount: t.source_amount } : { side: 'target' as const, amount: t.target_amount as string };
    const priced = await pricing.price({
      operation: t.operation_type,
      sourceCurrency: t.source_currency.trim(),
      targetCurrency: t.target_currency.trim(),
      given,
      clientRate: t.client_fx_rate ?? undefined,
      overrides: t.override_fees ?? undefined,
    });
    if (!priced.ok) throw decline(PRICING_DECLINES[priced.error.code], priced.error.message);
    return summarize(await transfers.recordPrice(transferId, priced.price));
  }

  /** Phase one: a hold on the source's available balance. */
  async function reserveFunds({ transferId }: TransferRef): Promise<{ holdId: string }> {
    const t = await transfers.mustGet(transferId);
    if (!t.priced_at || t.source_amount === null) throw new Error(`Transfer ${transferId} is not priced yet`);
    const hold = await ledger.reserve({
      idempotencyKey: ledgerKey(transferId, 'reserve'),
      accountId: t.source_account_id,
      currency: t.source_currency,
      amount: t.source_amount,
      transferId,
    });
    await transfers.linkHold(transferId, hold.id);
    return { holdId: hold.id };
  }

  /** Phase two: the balanced entries, consuming the hold. Returns the first posting when repeated. */
  async function postTransfer({ transferId }: TransferRef): Promise<{ ledgerTransactionId: string }> {
    const t = await transfers.mustGet(transferId);
    if (!t.hold_id) throw new Error(`Transfer ${transferId} has no hold to post`);
    const posted = await ledger.postTransaction({
      idempotencyKey: ledgerKey(transferId, 'post'),
      kind: t.kind === 'payout' ? 'payout' : 'transfer',
      transferId,
      reference: t.reference,
      description: t.description ?? t.reference,
      settleHoldId: t.hold_id,
      legs: await transferLegs(t),
    });
    await transfers.linkLedgerTransaction(transferId, posted.id);
    return { ledgerTransactionId: posted.id };
  }

  /** Compensation for reserveFunds: gives the reserved amount back to the available balance. */
  async function releaseFunds({ transferId }: TransferRef): Promise<void> {
    const t = await transfers.mustGet(transferId);
    if (!t.hold_id) return;
    await ledger.voidHold(t.hold_id);
  }

  /**
   * The entries of a priced transfer, one balanced set per currency:
   * source −S; fee revenue +F and spread revenue +SP (source currency); FX position +(S−F−SP) in the
   * source currency and −T in the target currency; destination +T. Same currency: −S, +F, +T.
   */
  async function transferLegs(t: TransferRow): Promise<Leg[]> {
    const src = t.source_currency.trim();
    const tgt = t.target_currency.trim();
    const S = new Money(t.source_amount as string);
    const T = new Money(t.target_amount as string);
    const F = new Money(t.fixed_fee ?? 0);
    const SP = new Money(t.spread_fee ?? 0);
    const system = (purpose: SystemPurpose, currency: string) => ledger.getSystemAccount(purpose, currency).then((a) => a.id);
    const legs: Leg[] = [
      { accountId: t.source_account_id, currency: src, amount: S.neg().toString(), description: t.reference },
      { accountId: await system('fee_revenue', src), currency: src, amount: F.toString(), description: feeDescription(t, t.operation_type) },
      { accountId: await system('spread_revenue', src), currency: src, amount: SP.toString(), description: 'FX spread' },
    ];
    if (src !== tgt) {
      legs.push(
        { accountId: await system('fx_position', src), currency: src, amount: S.minus(F).minus(SP).toString(), description: `FX ${src}->${tgt}` },
        { accountId: await system('fx_position', tgt), currency: tgt, amount: T.neg().toString(), description: `FX ${src}->${tgt}` },
      );
    }
    legs.push({ accountId: t.destination_account_id, currency: tgt, amount: T.toString(), description: t.reference });
    // A zero amount moves nothing: no entry.
    return legs.filter((l) => !new Money(l.amount).isZero());
  }

  /** Screens the transfer once (rules, watch list, countries, velocity, account status) and links the decision. */
  async function screenTransfer({ transferId }: TransferRef): Promise<{ outcome: 'approve' | 'hold' | 'decline'; screeningId: string; summary: string }> {
    const t = await transfers.mustGet(transferId);
    const screening = await compliance.screenTransfer(t);
    if (t.screening_id !== screening.id) await db('transfers').where({ id: transferId }).update({ screening_id: screening.id });
    // jsonb arrives parsed (pg).
    const summary = screening.hits.length ? screening.hits.map((h) => h.detail).join(' ') : 'no rule fired';
    return { outcome: screening.outcome, screeningId: screening.id, summary: summary.slice(0, 400) };
  }

  async function holdTransfer(input: TransferRef & { expiresInSeconds: number; reason: string }): Promise<void> {
    await transfers.hold(input.transferId, { expiresInSeconds: input.expiresInSeconds, reason: input.reason });
  }

  /**
   * Records the decision on a held transfer; the first decision recorded (by the API, a signal from
   * the CLI/UI, or expiry) wins and is what the workflow acts on. Decisions that did not come
   * through the API are audited here.
   */
  async function recordComplianceDecision(input: TransferRef & { decision: 'release' | 'reject' | 'expire'; reviewer: string; reason: string; reviewerKeyId?: string | null }) {
    // A key id typed into a CLI signal may name no key: keep the reviewer's name, drop the link.
    const reviewerKeyId = input.reviewerKeyId && (await db('api_keys').where({ id: input.reviewerKeyId }).first('id')) ? input.reviewerKeyId : null;
    const t = await transfers.mustGet(input.transferId);
    const { decision, recorded } = await compliance.recordDecision({
      subjectType: t.kind,
      subjectId: input.transferId,
      decision: input.decision,
      reviewer: input.reviewer,
      reviewerKeyId,
      reason: input.reason,
    });
    if (recorded) {
      await compliance.audit({
        actor: input.reviewer,
        actorKeyId: reviewerKeyId,
        action: input.decision,
        subjectType: t.kind,
        subjectId: input.transferId,
        reason: input.reason,
        outcome: 'applied',
        remoteAddr: input.decision === 'expire' ? 'workflow timer' : 'temporal signal',
      });
    }
    if (decision.decision === 'release') await transfers.resume(input.transferId);
    return { decision: decision.decision, reviewer: decision.reviewer, reason: decision.reason };
  }

  /**
   * Sends a posted payout through the rail. Transient failures (5xx, network) throw and are retried
   * with backoff by the workflow; a permanent rejection is a non-retryable decline to compensate.
   */
  async function sendPayout({ transferId, resend }: TransferRef & { resend?: boolean }): Promise<{ railReference: string }> {
    const t = await transfers.mustGet(transferId);
    if (t.rail_reference && !resend) return { railReference: t.rail_reference };
    const beneficiary = await db('beneficiaries').where({ id: t.beneficiary_id }).first<{ name: string; bank_details: Record<string, string> }>();
    const result = await rail.send({
      payoutId: t.id,
      amount: t.target_amount as string,
      currency: t.target_currency.trim(),
      beneficiary: { name: beneficiary.name, ...beneficiary.bank_details },
      reference: t.reference,
      callbackUrl: deps.railCallbackUrl(),
    });
    if (result.status === 'rejected') throw decline(TransferFailureType.RailRejected, `rejected by the payout rail: ${result.reason}`);
    await transfers.markSent(transferId, result.railReference);
    if (resend) await db('transfers').where({ id: transferId }).update({ rail_reference: result.railReference });
    return { railReference: result.railReference };
  }

  /** The rail's view, when no callback came: settled, returned, rejected or still on its way. */
  async function checkPayoutOnRail({ transferId }: TransferRef) {
    const seen = await rail.status(transferId);
    // The rail has it (our own send may have timed out before its answer): record that it is on its way.
    if (seen.status !== 'unknown' && seen.status !== 'rejected' && seen.railReference) await transfers.markSent(transferId, seen.railReference);
    return seen;
  }

  /** The rail settled it: the money leaves the bank (in transit → funding, the omnibus account). */
  async function settlePayout({ transferId }: TransferRef): Promise<void> {
    const t = await transfers.mustGet(transferId);
    const currency = t.target_currency.trim();
    const T = new Money(t.target_amount as string);
    const settled = await ledger.postTransaction({
      idempotencyKey: `transfer:${transferId}:settle`,
      kind: 'payout_settlement',
      transferId,
      reference: t.reference,
      description: `Payout settled (${t.rail_reference ?? 'rail'})`,
      legs: [
        { accountId: (await ledger.getSystemAccount('payouts_in_transit', currency)).id, currency, amount: T.neg().toString() },
        { accountId: (await ledger.getSystemAccount('funding', currency)).id, currency, amount: T.toString() },
      ],
    });
    await transfers.linkSettlement(transferId, settled.id);
  }

  /**
   * Compensation for a posted payout that the rail rejected or returned: a new balanced transaction
   * per step, in reverse order (the settlement first, then the posting), each exactly once.
   * Fee policy: fees and spread are refunded with the principal (the payout did not happen).
   */
  async function reversePayout({ transferId }: TransferRef): Promise<void> {
    const t = await transfers.mustGet(transferId);
    if (t.settlement_transaction_id) {
      await ledger.reverseTransaction({
        originalId: t.settlement_transaction_id,
        idempotencyKey: `transfer:${transferId}:reverse-settlement`,
        kind: 'payout_reversal',
        transferId,
        description: 'Payout returned: settlement reversed',
      });
    }
    if (t.ledger_transaction_id) {
      const reversal = await ledger.reverseTransaction({
        originalId: t.ledger_transaction_id,
        idempotencyKey: `transfer:${transferId}:reverse-posting`,
        kind: 'payout_reversal',
        transferId,
        description: 'Payout reversed: funds returned to the source',
      });
      await transfers.linkReversal(transferId, reversal.id);
    }
  }

  async function recordPayoutReturned(input: TransferRef & { reason: string }): Promise<void> {
    await transfers.markReturned(input.transferId, `contact_support: returned by the beneficiary's bank: ${input.reason}`);
  }

  async function recordTransferOutcome(input: TransferRef & TransferOutcomeRecord): Promise<void> {
    const { transferId, ...outcome } = input;
    await transfers.recordOutcome(transferId, outcome);
  }

  return withFailureMapping({
    validateTransfer,
    priceTransfer,
    screenTransfer,
    reserveFunds,
    holdTransfer,
    recordComplianceDecision,
    postTransfer,
    releaseFunds,
    sendPayout,
    checkPayoutOnRail,
    settlePayout,
    reversePayout,
    recordPayoutReturned,
    recordTransferOutcome,
  });
}

/** Every activity reports ledger refusals and permanent database errors as non-retryable failures. */
function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw asActivityFailure(err);
        }
      },
    ]),
  ) as T;
}

export type TransferActivities = ReturnType<typeof createActivities>;

export type PriceSummary = {
  sourceAmount: string;
  targetAmount: string;
  fxRate: string;
  marketRate: string;
  fixedFee: string;
  spreadFee: string;
};

/** What the workflow keeps of the price (small, and shown in the Temporal UI). */
function summarize(t: TransferRow): PriceSummary {
  return {
    sourceAmount: t.source_amount as string,
    targetAmount: t.target_amount as string,
    fxRate: t.fx_rate as string,
    marketRate: t.market_rate as string,
    fixedFee: t.fixed_fee as string,
    spreadFee: t.spread_fee as string,
  };
}

function feeDescription(t: TransferRow, operation: string): string {
  return t.calculated_fees?.[operation]?.tx_description ?? `Fee: ${operation}`;
}
