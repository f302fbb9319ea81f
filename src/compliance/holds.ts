/**
 * Compliance holds: the queue of held transfers and payouts, and the decisions on them, wherever
 * they come from (an officer through the API, a signal typed into the Temporal CLI or UI, or the
 * hold's expiry). The first decision recorded wins (a UNIQUE constraint per subject); every
 * officer's attempt, accepted or refused, is audited, and so is every decision made outside the API.
 */
import type { Principal } from '../auth/service';
import type { CurrencyService } from '../currencies/service';
import type { Db } from '../db/knex';
import { formatAmount } from '../money/money';
import { Refusal } from '../refusal';
import type { TransferRow } from '../transfers/model';
import type { TransferRepository } from '../transfers/repository';
import type { ComplianceDecision } from '../../workflows/contract';
import { makerCheckerConflict } from './maker-checker';
import { ComplianceRefusal } from './refusals';
import type { ComplianceService, DecisionRow } from './service';

export type HoldsQuery = { status: 'pending' | 'released' | 'rejected' | 'expired'; order: 'asc' | 'desc'; limit: number };
/** Where an officer's request came from, for the audit trail. */
export type RequestOrigin = { requestId: string | null; remoteAddr: string | null; userAgent: string | null };
/** How a decision reaches the held movement's workflow (the API's workflow gateway). */
export type DeliverDecision = (t: TransferRow, decision: ComplianceDecision<'release' | 'reject'>) => Promise<void>;

const DECISION_FILTER = { released: 'release', rejected: 'reject', expired: 'expire' } as const;

export function createHoldService(deps: { db: Db; compliance: ComplianceService; transfers: TransferRepository; currencies: CurrencyService }) {
  const { db, compliance } = deps;

  /** The queue: held items with their screening, parties, age and decision, by hold time. */
  async function queue(query: HoldsQuery) {
    const q = db('transfers as t')
      .join('compliance_screenings as s', 's.id', 't.screening_id')
      .leftJoin('compliance_decisions as d', function joinDecision() {
        this.on('d.subject_id', '=', 't.id').andOn('d.subject_type', '=', 't.kind');
      })
      .join('accounts as sa', 'sa.id', 't.source_account_id')
      .join('customers as sc', 'sc.id', 'sa.customer_id')
      .join('accounts as da', 'da.id', 't.destination_account_id')
      .leftJoin('customers as dc', 'dc.id', 'da.customer_id')
      .leftJoin('beneficiaries as b', 'b.id', 't.beneficiary_id')
      .whereNotNull('t.held_at')
      .orderBy('t.held_at', query.order)
      .limit(query.limit)
      .select('t.*', 's.hits', 's.rule_versions', 'd.decision', 'd.reviewer', 'd.reason as decision_reason', 'd.decided_at', 'sc.name as source_holder')
      .select(db.raw('coalesce(dc.name, b.name) AS destination_holder'), db.raw('extract(epoch FROM now() - t.held_at)::bigint AS age_seconds'));
    if (query.status === 'pending') q.where('t.status', 'held').whereNull('d.id');
    else q.where('d.decision', DECISION_FILTER[query.status]);
    return Promise.all(((await q) as Array<TransferRow & Record<string, unknown>>).map(presentHeld));
  }

  async function presentHeld(r: TransferRow & Record<string, unknown>) {
    const amount = async (value: string | null, currency: string) => ({ amount: formatAmount(value as string, await deps.currencies.minorUnits(currency)), currency: currency.trim() });
    return {
      subject_type: r.kind,
      ...(r.kind === 'payout' ? { beneficiary_id: r.beneficiary_id } : {}),
      id: r.id,
      ref_id: r.ref_id,
      status: r.status,
      response_code: r.response_code,
      source_amount: await amount(r.source_amount, r.source_currency),
      target_amount: await amount(r.target_amount, r.target_currency),
      parties: {
        source: { account_id: r.source_account_id, holder: r.source_holder },
        destination: { account_id: r.destination_account_id, holder: r.destination_holder },
      },
      rule_hits: r.hits,
      rule_versions: r.rule_versions,
      held_at: r.held_at,
      hold_expires_at: r.hold_expires_at,
      age_seconds: String(r.age_seconds),
      decision: r.decision ? { decision: r.decision, reviewer: r.reviewer, reason: r.decision_reason, decided_at: r.decided_at } : null,
    };
  }

  /** The transfer or payout a decision names, if there is one of that kind. */
  const subject = (kind: TransferRow['kind'], id: string) => db('transfers').where({ id, kind }).first<TransferRow | undefined>();

  /**
   * An officer's decision on a held transfer or payout: refused (and audited) unless the key is a
   * compliance officer's, on the other side of maker-checker from the key that made it, and the
   * movement is held and undecided. Recorded, it is delivered to the workflow; a decision recorded
   * earlier but perhaps never delivered (Temporal was unreachable) is delivered again.
   */
  async function decide(input: {
    principal: Principal;
    subject: TransferRow;
    decision: 'release' | 'reject';
    reason: string;
    origin: RequestOrigin;
    deliver: DeliverDecision;
    /** Told when a redelivery fails: the refusal still stands, and the workflow's expiry timer still runs. */
    onRedeliveryFailed: (err: unknown) => void;
  }): Promise<void> {
    const { principal, subject: t, decision, reason } = input;
    const reviewer = `key:${principal.keyId}`;
    const audit = (outcome: string) =>
      compliance.audit({ actor: reviewer, actorKeyId: principal.keyId, actorRole: principal.role, action: decision, subjectType: t.kind, subjectId: t.id, reason, outcome, ...input.origin });
    const conflict = await makerCheckerConflict(db, t.created_by_key_id, principal.keyId);
    if (conflict) {
      await audit('refused: maker_checker');
      throw new Refusal(ComplianceRefusal.MakerChecker, `This key cannot decide on this ${t.kind}: ${conflict}.`);
    }
    if (t.status !== 'held') {
      await audit('refused: not_held');
      throw new Refusal(ComplianceRefusal.NotHeld, `This ${t.kind} is ${t.status}, not held for compliance.`);
    }
    const recorded = await compliance.recordDecision({ subjectType: t.kind, subjectId: t.id, decision, reviewer, reviewerKeyId: principal.keyId, reason });
    if (!recorded.recorded) {
      await redeliver(t, recorded.decision, input.deliver).catch(input.onRedeliveryFailed);
      await audit('refused: already_decided');
      throw new Refusal(ComplianceRefusal.AlreadyDecided, `This ${t.kind} was already decided (${recorded.decision.decision}).`);
    }
    await audit('accepted');
    await input.deliver(t, { decision, reviewer, reason, reviewerKeyId: principal.keyId });
  }

  async function redeliver(t: TransferRow, first: DecisionRow, deliver: DeliverDecision): Promise<void> {
    if (first.decision === 'expire') return;
    await deliver(t, { decision: first.decision, reviewer: first.reviewer, reason: first.reason, reviewerKeyId: first.reviewer_key_id });
  }

  /** A key other than a compliance officer's tried to decide: audited when the subject exists (made-up ids leave no rows), then refused. */
  async function refuseNonOfficer(principal: Principal, t: TransferRow | undefined, decision: 'release' | 'reject', reason: string | null, origin: RequestOrigin): Promise<never> {
    if (t) {
      await compliance.audit({ actor: `key:${principal.keyId}`, actorKeyId: principal.keyId, actorRole: principal.role, action: decision, subjectType: t.kind, subjectId: t.id, reason, outcome: 'refused: not_authorized', ...origin });
    }
    throw new Refusal(ComplianceRefusal.NotAnOfficer, 'Only compliance keys decide on held payments.');
  }

  /**
   * Records a decision that did not come through the API (a signal typed into the CLI or UI, or
   * the hold's expiry) if it is the first, audits it, and returns the first one, in the caller's transaction.
   */
  async function recordDecision(transferId: string, request: ComplianceDecision, trx: Db = db): Promise<DecisionRow> {
    // A key id typed into a CLI signal may name no key: keep the reviewer's name, drop the link.
    const reviewerKeyId = request.reviewerKeyId && (await trx('api_keys').where({ id: request.reviewerKeyId }).first('id')) ? request.reviewerKeyId : null;
    const t = await deps.transfers.mustGet(transferId, trx);
    const { decision, recorded } = await compliance.recordDecision(
      { subjectType: t.kind, subjectId: transferId, decision: request.decision, reviewer: request.reviewer, reviewerKeyId, reason: request.reason },
      trx,
    );
    if (recorded) {
      const remoteAddr = request.decision === 'expire' ? 'workflow timer' : 'temporal signal';
      await compliance.audit({ actor: request.reviewer, actorKeyId: reviewerKeyId, action: request.decision, subjectType: t.kind, subjectId: transferId, reason: request.reason, outcome: 'applied', remoteAddr }, trx);
    }
    return decision;
  }

  return { queue, subject, decide, refuseNonOfficer, recordDecision };
}

export type HoldService = ReturnType<typeof createHoldService>;
