import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { principalOf, requireRole } from '../auth/middleware';
import { ApiError, HttpErrorCode } from '../http/errors';
import { AmountWithCurrency, body, errors, Id, json, list, op, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import type { BodyAllowance } from '../http/body';
import { limitParam } from '../http/pagination';
import { DecimalString, parseInput, pathId, SafeText, Uuid } from '../http/validation';
import { Money } from '../money/money';
import type { TransferPresenter } from '../transfers/presenter';
import { ListTransfers, ResponseCodeSchema, Transfer } from '../transfers/routes';
import type { TransferWorkflowGateway } from '../transfers/workflow-gateway';
import type { Rule as RuleRow } from './engine';
import type { HoldService, RequestOrigin } from './holds';
import type { ComplianceService, WatchlistImportResult } from './service';

/** What an officer sends with a release or a reject: the reason (the decision is the path). */
export const DecisionReason = z.strictObject({ reason: SafeText(500).pipe(z.string().trim().min(1, 'Give the reason for the decision')) });
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
export const RuleBody = z.discriminatedUnion('kind', [ruleOf('amount_threshold'), ruleOf('watchlist'), ruleOf('blocked_country'), ruleOf('velocity'), ruleOf('account_status')]);
export const WatchlistEntry = z.strictObject({
  name: SafeText(300).pipe(z.string().trim().min(2)),
  list: z.string().regex(/^[A-Z0-9_]{2,20}$/).default('MANUAL'),
  program: SafeText(100).optional(),
});
export const WatchlistImport = z.strictObject({ list: z.string().regex(/^[A-Z0-9_]{2,20}$/).default('SDN'), csv: z.string().min(1).max(10_000_000) });

/** A watch-list file (the OFAC SDN list is a few MB) is the one body allowed to be large, and only for the role that may import one. */
export const WATCHLIST_IMPORT_BODY: BodyAllowance = { path: '/compliance/watchlist/import', role: 'admin', maxBytes: 10 * 1024 * 1024 };

type ComplianceRouteDeps = { compliance: ComplianceService; holds: HoldService; gateway: TransferWorkflowGateway; presenter: TransferPresenter; syncWaitMs: number };

/** Compliance staff: the hold queue, release/reject with maker-checker, the audit trail; admins: rules and the watch list. */
export function complianceRoutes(deps: ComplianceRouteDeps): Router {
  const { compliance } = deps;
  const router = Router();

  router.get('/compliance/holds', requireRole('compliance', 'admin'), async (req, res) => {
    res.json({ data: await deps.holds.queue(parseInput(HoldsQuery, req.query)) });
  });

  for (const [collection, kind] of [['transfers', 'transfer'], ['payouts', 'payout']] as const) {
    for (const decision of ['release', 'reject'] as const) router.post(`/${collection}/:id/${decision}`, decisionHandler(deps, kind, decision));
  }

  router.get('/compliance/audit', requireRole('compliance', 'admin'), async (req, res) => {
    const query = parseInput(AuditQuery, req.query);
    res.json({ data: await compliance.auditTrail({ subjectId: query.subject_id, limit: query.limit }) });
  });

  router.get('/compliance/rules', requireRole('compliance', 'admin'), async (_req, res) => {
    res.json({ data: await compliance.rules() });
  });

  router.post('/compliance/rules', requireRole('admin'), async (req, res) => {
    res.status(201).json(await compliance.createRule(parseInput(RuleBody, req.body)));
  });

  /** Replaces a rule; its version goes up, so screenings record which version they applied. */
  router.put('/compliance/rules/:id', requireRole('admin'), async (req, res) => {
    const input = parseInput(RuleBody, req.body);
    const rule = await compliance.replaceRule(pathId(req.params.id), input);
    if (!rule) throw ApiError.of(HttpErrorCode.NotFound, 'No rule with this id.');
    res.json(rule);
  });

  router.get('/compliance/watchlist', requireRole('compliance', 'admin'), async (_req, res) => {
    res.json({ data: await compliance.watchlist() });
  });

  router.post('/compliance/watchlist', requireRole('admin'), async (req, res) => {
    res.status(201).json(await compliance.addWatchlistEntry(parseInput(WatchlistEntry, req.body)));
  });

  /**
   * A CSV in the OFAC SDN layout (ent_num, SDN_Name, SDN_Type, Program, ...), sent as {csv}: 200
   * {imported, skipped, skipped_rows: [{line, reason}]} (the rows that are entries are imported, the
   * others listed), or 422 at #/csv, importing nothing, for a file that is not CSV or has no entry.
   */
  router.post('/compliance/watchlist/import', requireRole('admin'), async (req, res) => {
    const input = parseInput(WatchlistImport, req.body);
    const result: WatchlistImportResult = await compliance.importSdnCsv(input.csv, input.list);
    res.json(result);
  });

  return router;
}

/**
 * Release or reject a held transfer or payout. Compliance keys only; the key that created it may
 * not decide on it (maker-checker); only a held one can be decided, once. Every attempt, accepted
 * or refused, is audited. The answer waits (a bounded time) for the outcome the decision leads to.
 */
function decisionHandler(deps: ComplianceRouteDeps, kind: 'transfer' | 'payout', decision: 'release' | 'reject') {
  return async (req: Request, res: Response) => {
    const principal = principalOf(req);
    const t = await deps.holds.subject(kind, pathId(req.params.id));
    // Every attempt on a payment is audited, a client's or an admin's too. They are told the same 403
    // whether it exists or not (nothing leaks), and made-up ids leave no rows in the trail.
    if (principal.role !== 'compliance') await deps.holds.refuseNonOfficer(principal, t, decision, DecisionReason.safeParse(req.body).data?.reason ?? null, requestOrigin(req));
    if (!t) throw ApiError.of(HttpErrorCode.NotFound, `No ${kind} with this id.`);
    const { reason } = parseInput(DecisionReason, req.body);
    await deps.holds.decide({
      principal,
      subject: t,
      decision,
      reason,
      origin: requestOrigin(req),
      deliver: deps.gateway.sendDecision,
      onRedeliveryFailed: (err) => req.log.warn({ err, id: t.id }, 'could not redeliver a recorded decision'),
    });
    await deps.gateway.awaitResult(t, deps.syncWaitMs);
    const current = await deps.holds.subject(kind, t.id);
    res.status(200).json(await deps.presenter.present(current as NonNullable<typeof current>, principal));
  };
}

function requestOrigin(req: Request): RequestOrigin {
  return { requestId: req.requestId, remoteAddr: req.ip ?? null, userAgent: req.get('user-agent') ?? null };
}

const TransferStatusSchema = ListTransfers.shape.status.unwrap();

export const Hold = z
  .looseObject({
    subject_type: z.enum(['transfer', 'payout']),
    beneficiary_id: Id.nullable().optional(),
    id: Id,
    ref_id: z.string(),
    status: TransferStatusSchema,
    response_code: ResponseCodeSchema.nullable(),
    source_amount: AmountWithCurrency,
    target_amount: AmountWithCurrency,
    parties: z.object({
      source: z.object({ account_id: Id, holder: z.string().nullable() }),
      destination: z.object({ account_id: Id, holder: z.string().nullable() }),
    }),
    rule_hits: z.array(z.looseObject({})).meta({ description: 'The screening rules that matched' }),
    rule_versions: z.looseObject({}).meta({ description: 'Which version of each rule the screening applied' }),
    held_at: Timestamp,
    hold_expires_at: Timestamp.nullable(),
    age_seconds: z.string(),
    decision: z.object({ decision: z.string(), reviewer: z.string(), reason: z.string().nullable(), decided_at: Timestamp }).nullable(),
  })
  .meta({ id: 'Hold', description: 'A held transfer or payout in the compliance queue (main fields).' });

export const AuditRecord = z
  .looseObject({ id: z.string(), actor: z.string(), action: z.string(), subject_type: z.string().nullable(), subject_id: z.string().nullable(), reason: z.string().nullable(), outcome: z.string().nullable() })
  .meta({ id: 'AuditRecord', description: 'One audited action (main fields).' });

export const Rule = z
  .object({ id: Id, kind: z.union(RuleBody.options.map((o) => o.shape.kind)), name: z.string(), params: z.record(z.string(), z.unknown()), enabled: z.boolean(), version: z.number().int() })
  .meta({ id: 'ComplianceRule', description: 'A screening rule; `params` as in the request for its kind. Its version goes up on every change.' });
type _RuleDocumented = Assert<Documents<typeof Rule, RuleRow>>;

export const WatchlistEntryOut = z
  .looseObject({ id: Id, list: z.string(), name: z.string(), entity_type: z.string().nullable(), program: z.string().nullable(), external_id: z.string().nullable() })
  .meta({ id: 'WatchlistEntry' });

export const ImportResult = z
  .object({ imported: z.number().int(), skipped: z.number().int(), skipped_rows: z.array(z.object({ line: z.number().int(), reason: z.string() })) })
  .meta({ id: 'WatchlistImportResult' });
type _ImportDocumented = Assert<Documents<typeof ImportResult, WatchlistImportResult>>;

/** POST /v1/<kind>s/{id}/release and /reject. */
function decisionPaths(kind: 'transfer' | 'payout'): OpenApiPaths {
  const Title = kind === 'transfer' ? 'Transfer' : 'Payout';
  const decision = (d: 'release' | 'reject') =>
    op('Compliance', `${d}${Title}`, `${d === 'release' ? 'Release' : 'Reject'} a held ${kind}`, {
      description: `Compliance keys only. The key that created the ${kind} (or any key in its minting chain) may not decide on it (403 \`maker_checker_violation\`); only a held ${kind} can be decided, once (409). Every attempt is audited.${d === 'reject' ? ' Rejection declines it with `651`.' : ''}`,
      requestParams: { path: pathIds('id') },
      requestBody: body(DecisionReason),
      responses: { '200': json(`The ${kind} after the decision`, Transfer), ...errors(...V1, ...BODY, 403, 404, 409) },
    });
  return { [`/v1/${kind}s/{id}/release`]: { post: decision('release') }, [`/v1/${kind}s/{id}/reject`]: { post: decision('reject') } };
}

export const compliancePaths: OpenApiPaths = {
  ...decisionPaths('transfer'),
  ...decisionPaths('payout'),
  '/v1/compliance/holds': {
    get: op('Compliance', 'listHolds', 'The hold queue', {
      description: `${roles('compliance', 'admin')} Held transfers and payouts, oldest first by default.`,
      requestParams: { query: HoldsQuery },
      responses: { '200': json('Holds', list(Hold)), ...errors(...V1, 403, 422) },
    }),
  },
  '/v1/compliance/audit': {
    get: op('Compliance', 'listAudit', 'The audit trail', {
      description: `${roles('compliance', 'admin')} Newest first.`,
      requestParams: { query: AuditQuery },
      responses: { '200': json('Audit records', list(AuditRecord)), ...errors(...V1, 403, 422) },
    }),
  },
  '/v1/compliance/rules': {
    get: op('Compliance', 'listRules', 'List screening rules', { description: roles('compliance', 'admin'), responses: { '200': json('Every rule', list(Rule)), ...errors(...V1, 403) } }),
    post: op('Compliance', 'createRule', 'Create a screening rule', {
      description: `${roles('admin')} \`params\` depends on \`kind\`.`,
      requestBody: body(RuleBody),
      responses: { '201': json('The rule', Rule), ...errors(...V1, ...BODY, 403) },
    }),
  },
  '/v1/compliance/rules/{id}': {
    put: op('Compliance', 'replaceRule', 'Replace a screening rule', {
      description: `${roles('admin')} Its version goes up, so screenings record which version they applied.`,
      requestParams: { path: pathIds('id') },
      requestBody: body(RuleBody),
      responses: { '200': json('The rule', Rule), ...errors(...V1, ...BODY, 403, 404) },
    }),
  },
  '/v1/compliance/watchlist': {
    get: op('Compliance', 'listWatchlist', 'The watch list', { description: `${roles('compliance', 'admin')} At most 1000 entries.`, responses: { '200': json('Entries', list(WatchlistEntryOut)), ...errors(...V1, 403) } }),
    post: op('Compliance', 'addWatchlistEntry', 'Add a watch-list entry', {
      description: roles('admin'),
      requestBody: body(WatchlistEntry),
      responses: { '201': json('The entry', WatchlistEntryOut), ...errors(...V1, ...BODY, 403) },
    }),
  },
  '/v1/compliance/watchlist/import': {
    post: op('Compliance', 'importWatchlist', 'Import a sanctions list (OFAC SDN CSV)', {
      description: `${roles('admin')} The one body allowed up to 10 MB (others: MAX_BODY_BYTES, 64 KiB). Rows that are entries are imported, the others listed; 422 at #/csv, importing nothing, for a file that is not CSV or has no entry.`,
      requestBody: body(WatchlistImport),
      responses: { '200': json('What was imported', ImportResult), ...errors(...V1, ...BODY, 403) },
    }),
  },
};
