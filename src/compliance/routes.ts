import { Router, type Request } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { limitParam } from '../api/pagination';
import { parseInput, pathId, SafeText, Uuid } from '../api/validation';
import { principalOf, requireRole } from '../auth/middleware';
import type { Db } from '../db/knex';
import { formatAmount, Money } from '../money/money';
import { DecimalString } from '../pricing/overrides';
import type { CurrencyService } from '../currencies/service';
import type { TransferPresenter } from '../transfers/presenter';
import type { TransferRow } from '../transfers/model';
import type { TransferWorkflowGateway } from '../transfers/workflow-gateway';
import type { Rule } from './engine';
import { makerCheckerConflict } from './maker-checker';
import { WatchlistImportError, type ComplianceService, type WatchlistImportResult } from './service';

export const Decision = z.strictObject({ reason: SafeText(500).pipe(z.string().trim().min(1, 'Give the reason for the decision')) });
export const HoldsQuery = z.strictObject({
  status: z.enum(['pending', 'released', 'rejected', 'expired']).default('pending'),
  /** By hold time: oldest first (the queue's working order) or newest first. */
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: limitParam(200, 100),
});
export const AuditQuery = z.strictObject({ subject_id: Uuid.optional(), limit: limitParam(500, 100) });
const Currency = z.string().regex(/^[A-Z]{3}$/);
const Scope = { source_currencies: z.array(Currency).min(1).max(50).optional() };
const Similarity = DecimalString.refine((v) => new Money(v).lte(1), 'A similarity between 0 and 1');
/** Each kind's parameters, checked on write so the engine never meets a value it cannot read. */
const RuleParams = {
  amount_threshold: z.strictObject({ ...Scope, currency: Currency, amount: DecimalString, hold_when_unpriced: z.boolean().optional() }),
  watchlist: z.strictObject({ ...Scope, strong: Similarity, weak: Similarity }).refine((p) => new Money(p.weak).lte(p.strong), 'weak must not exceed strong'),
  blocked_country: z.strictObject({ ...Scope, countries: z.array(z.string().regex(/^[A-Z]{2}$/)).max(300) }),
  velocity: z.strictObject({
    ...Scope,
    window_seconds: z.number().int().min(1).max(31 * 86_400),
    max_count: z.number().int().min(1).optional(),
    max_amount: DecimalString.optional(),
    currency: Currency,
  }),
  account_status: z.strictObject({ ...Scope }),
} as const;
const ruleOf = <K extends keyof typeof RuleParams>(kind: K) =>
  z.strictObject({ kind: z.literal(kind), name: SafeText(200).pipe(z.string().min(1)), params: RuleParams[kind], enabled: z.boolean().default(true) });
export const RuleBody = z.discriminatedUnion('kind', [
  ruleOf('amount_threshold'),
  ruleOf('watchlist'),
  ruleOf('blocked_country'),
  ruleOf('velocity'),
  ruleOf('account_status'),
]);
export const WatchlistEntry = z.strictObject({
  name: SafeText(300).pipe(z.string().trim().min(2)),
  list: z.string().regex(/^[A-Z0-9_]{2,20}$/).default('MANUAL'),
  program: SafeText(100).optional(),
});
export const WatchlistImport = z.strictObject({ list: z.string().regex(/^[A-Z0-9_]{2,20}$/).default('SDN'), csv: z.string().min(1).max(10_000_000) });

const DECISION_FILTER = { released: 'release', rejected: 'reject', expired: 'expire' } as const;

/** Compliance staff: the hold queue, release/reject with maker-checker, the audit trail; admins: rules and the watch list. */
export function complianceRoutes(deps: {
  db: Db;
  compliance: ComplianceService;
  gateway: TransferWorkflowGateway;
  presenter: TransferPresenter;
  currencies: CurrencyService;
  syncWaitMs: number;
}): Router {
  const { db, compliance } = deps;
  const router = Router();

  router.get('/compliance/holds', requireRole('compliance', 'admin'), async (req, res) => {
    const query = parseInput(HoldsQuery, req.query);
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
      .select(
        't.*',
        's.hits',
        's.rule_versions',
        'd.decision',
        'd.reviewer',
        'd.reason as decision_reason',
        'd.decided_at',
        'sc.name as source_holder',
        db.raw('coalesce(dc.name, b.name) AS destination_holder'),
        db.raw('extract(epoch FROM now() - t.held_at)::bigint AS age_seconds'),
      );
    if (query.status === 'pending') q.where('t.status', 'held').whereNull('d.id');
    else q.where('d.decision', DECISION_FILTER[query.status]);
    const rows = (await q) as Array<TransferRow & Record<string, unknown>>;
    const data = await Promise.all(
      rows.map(async (r) => ({
        subject_type: r.kind,
        ...(r.kind === 'payout' ? { beneficiary_id: r.beneficiary_id } : {}),
        id: r.id,
        ref_id: r.ref_id,
        status: r.status,
        response_code: r.response_code,
        source_amount: { amount: formatAmount(r.source_amount as string, await deps.currencies.minorUnits(r.source_currency)), currency: r.source_currency.trim() },
        target_amount: { amount: formatAmount(r.target_amount as string, await deps.currencies.minorUnits(r.target_currency)), currency: r.target_currency.trim() },
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
      })),
    );
    res.json({ data });
  });

  /**
   * Release or reject a held transfer. Compliance keys only; the key that created the transfer may
   * not decide on it (maker-checker); only a held transfer can be decided, once. Every attempt,
   * accepted or refused, is audited.
   */
  const decisionRoutes = [['transfers', 'transfer'], ['payouts', 'payout']] as const;
  for (const [collection, kind] of decisionRoutes) for (const decision of ['release', 'reject'] as const) {
    router.post(`/${collection}/:id/${decision}`, async (req, res) => {
      const principal = principalOf(req);
      const id = pathId(req.params.id);
      const reviewer = `key:${principal.keyId}`;
      const audit = (outcome: string, reason: string | null) =>
        compliance.audit({
          actor: reviewer,
          actorKeyId: principal.keyId,
          actorRole: principal.role,
          action: decision,
          subjectType: kind,
          subjectId: id,
          reason,
          outcome,
          ...requestOrigin(req),
        });
      const t = await db('transfers').where({ id, kind }).first<TransferRow | undefined>();
      // Every attempt on a payment is audited, a client's or an admin's too. They are told the same 403
      // whether it exists or not (nothing leaks), and made-up ids leave no rows in the trail.
      if (principal.role !== 'compliance') {
        if (t) await audit('refused: not_authorized', Decision.safeParse(req.body).data?.reason ?? null);
        throw ApiError.of(ApiErrorCode.NotAuthorized, 'Only compliance keys decide on held payments.');
      }
      if (!t) throw ApiError.of(ApiErrorCode.NotFound, `No ${kind} with this id.`);
      const { reason } = parseInput(Decision, req.body);
      const conflict = await makerCheckerConflict(db, t.created_by_key_id, principal.keyId);
      if (conflict) {
        await audit('refused: maker_checker', reason);
        throw ApiError.of(ApiErrorCode.MakerChecker, `This key cannot decide on this ${kind}: ${conflict}.`);
      }
      if (t.status !== 'held') {
        await audit('refused: not_held', reason);
        throw ApiError.of(ApiErrorCode.NotHeld, `This ${kind} is ${t.status}, not held for compliance.`);
      }
      const recorded = await compliance.recordDecision({ subjectType: kind, subjectId: id, decision, reviewer, reviewerKeyId: principal.keyId, reason });
      if (!recorded.recorded) {
        // Recorded earlier but perhaps never delivered (Temporal was unreachable): deliver it again.
        const first = recorded.decision;
        if (first.decision !== 'expire') {
          await deps.gateway
            .sendDecision(t, { decision: first.decision, reviewer: first.reviewer, reason: first.reason, reviewerKeyId: first.reviewer_key_id })
            .catch((err: unknown) => req.log.warn({ err, id }, 'could not redeliver a recorded decision'));
        }
        await audit('refused: already_decided', reason);
        throw ApiError.of(ApiErrorCode.AlreadyDecided, `This ${kind} was already decided (${recorded.decision.decision}).`);
      }
      await audit('accepted', reason);
      await deps.gateway.sendDecision(t, { decision, reviewer, reason, reviewerKeyId: principal.keyId });
      await deps.gateway.awaitResult(t, deps.syncWaitMs);
      const current = (await db('transfers').where({ id }).first<TransferRow>()) as TransferRow;
      res.status(200).json(await deps.presenter.present(current, principal));
    });
  }

  router.get('/compliance/audit', requireRole('compliance', 'admin'), async (req, res) => {
    const query = parseInput(AuditQuery, req.query);
    const q = db('audit_log').orderBy('id', 'desc').limit(query.limit);
    if (query.subject_id) q.where({ subject_id: query.subject_id });
    res.json({ data: (await q).map((r: Record<string, unknown>) => ({ ...r, id: String(r.id) })) });
  });

  router.get('/compliance/rules', requireRole('compliance', 'admin'), async (_req, res) => {
    res.json({ data: await compliance.rules() });
  });

  router.post('/compliance/rules', requireRole('admin'), async (req, res) => {
    const input = parseInput(RuleBody, req.body);
    const [rule] = await db('compliance_rules')
      .insert({ id: crypto.randomUUID(), kind: input.kind, name: input.name, params: JSON.stringify(input.params), enabled: input.enabled })
      .returning<Rule[]>('*');
    res.status(201).json(rule);
  });

  /** Replaces a rule; its version goes up, so screenings record which version they applied. */
  router.put('/compliance/rules/:id', requireRole('admin'), async (req, res) => {
    const input = parseInput(RuleBody, req.body);
    const [rule] = await db('compliance_rules')
      .where({ id: pathId(req.params.id) })
      .update({ kind: input.kind, name: input.name, params: JSON.stringify(input.params), enabled: input.enabled, version: db.raw('version + 1'), updated_at: db.fn.now() })
      .returning<Rule[]>('*');
    if (!rule) throw ApiError.of(ApiErrorCode.NotFound, 'No rule with this id.');
    res.json(rule);
  });

  router.get('/compliance/watchlist', requireRole('compliance', 'admin'), async (_req, res) => {
    res.json({ data: await db('watchlist_entries').orderBy(['list', 'name']).limit(1000).select('id', 'list', 'name', 'entity_type', 'program', 'external_id') });
  });

  router.post('/compliance/watchlist', requireRole('admin'), async (req, res) => {
    const input = parseInput(WatchlistEntry, req.body);
    res.status(201).json(await compliance.addWatchlistEntry(input));
  });

  /**
   * A CSV in the OFAC SDN layout (ent_num, SDN_Name, SDN_Type, Program, ...), sent as {csv}: 200
   * {imported, skipped, skipped_rows: [{line, reason}]} (the rows that are entries are imported, the
   * others listed), or 422 at #/csv, importing nothing, for a file that is not CSV or has no entry.
   */
  router.post('/compliance/watchlist/import', requireRole('admin'), async (req, res) => {
    const input = parseInput(WatchlistImport, req.body);
    let result: WatchlistImportResult;
    try {
      result = await compliance.importSdnCsv(input.csv, input.list);
    } catch (err) {
      if (err instanceof WatchlistImportError) throw ApiError.of(ApiErrorCode.InvalidValue, err.message, '#/csv');
      throw err;
    }
    res.json(result);
  });

  return router;
}

function requestOrigin(req: Request) {
  return { requestId: req.requestId, remoteAddr: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}
