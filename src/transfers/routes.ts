import { trace } from '@opentelemetry/api';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { idempotencyKeyOf } from '../api/idempotency';
import { DEPENDENCY_RETRY_AFTER_SECONDS, unreachableDependency } from '../api/unavailable';
import { CreatedAtIdCursor, encodeCursor, PageQuery, resolveCursor } from '../api/pagination';
import { AmountString, parseInput, pathId, Reference, SafeText, Uuid } from '../api/validation';
import { DecimalString, OverrideFeesSchema } from '../pricing/overrides';
import { principalOf, requireRole } from '../auth/middleware';
import type { AccountService } from '../accounts/service';
import type { TransferService } from './service';
import type { Principal } from '../auth/service';
import type { TransferRow } from './model';
import type { TransferWorkflowGateway } from './workflow-gateway';
import type { TransferPresenter } from './presenter';

export const CreateTransfer = z.strictObject({
  source_account_id: Uuid,
  destination_account_id: Uuid,
  source_amount: AmountString.optional(),
  target_amount: AmountString.optional(),
  reference: Reference,
  description: SafeText(255).optional(),
  external_id: SafeText(255).pipe(z.string().min(1)).optional(),
  // seed 002: a flat map whose values are stored and returned as strings
  fx_rate: DecimalString.optional(),
  override_fees: OverrideFeesSchema.optional(),
  quote_id: Uuid.optional(),
  metadata: z
    .record(SafeText(64).pipe(z.string().min(1)), SafeText(500))
    .refine((m) => Object.keys(m).length <= 50, 'At most 50 metadata keys')
    .optional(),
});

export const ListTransfers = z.strictObject({
  ...PageQuery,
  account_id: Uuid.optional(),
  status: z.enum(['processing', 'held', 'sent', 'completed', 'declined', 'failed', 'returned']).optional(),
});

type MovementDeps = { transfers: TransferService; gateway: TransferWorkflowGateway; presenter: TransferPresenter; syncWaitMs: number };

/** Transfer or payout still open: processing, or (payouts) sent and awaiting settlement. */
const isOpen = (t: TransferRow) => t.status === 'processing' || t.status === 'sent';

/**
 * Starts (or attaches to) a new transfer's or payout's workflow and answers: 201 with the outcome
 * when it is reached within the bound (a decline or a hold is an outcome, with its response code);
 * otherwise 202 with a Location to poll.
 */
export async function startAndRespond(req: Request, res: Response, deps: MovementDeps, created: { transfer: TransferRow; replayed: boolean }): Promise<void> {
  const { transfer, replayed } = created;
  const collection = transfer.kind === 'payout' ? 'payouts' : 'transfers';
  // For the request's log line (customProps in src/api/app.ts) and its trace.
  res.locals.transferId = transfer.id;
  res.locals.workflowId = transfer.workflow_id;
  trace.getActiveSpan()?.setAttributes({ 'payments.transfer_id': transfer.id, 'temporal.workflow_id': transfer.workflow_id });
  if (isOpen(transfer)) {
    try {
      await deps.gateway.startAndAwait(transfer, deps.syncWaitMs);
    } catch (err) {
      // Only an engine (or database) that cannot be reached is a 503 to retry; anything else is a bug, a 500.
      if (!unreachableDependency(err)) throw err;
      req.log.warn({ err, id: transfer.id, kind: transfer.kind }, 'could not start or reach the workflow');
      throw ApiError.unavailable(`The ${transfer.kind} is recorded but could not be started; retry in ${DEPENDENCY_RETRY_AFTER_SECONDS} s with the same Idempotency-Key.`, DEPENDENCY_RETRY_AFTER_SECONDS);
    }
  }
  const current = await deps.transfers.reload(transfer);
  if (replayed) res.set('Idempotent-Replayed', 'true');
  res
    .status(isOpen(current) ? 202 : 201)
    .location(`/v1/${collection}/${current.id}`)
    .json(await deps.presenter.present(current, principalOf(req)));
}

/**
 * POST /<collection> (with Idempotency-Key) and GET /<collection>/:id for transfers and payouts:
 * one creation path (startAndRespond) and one read path, each limited to its own kind.
 */
export function movementEndpoints<S extends z.ZodType>(
  router: Router,
  deps: MovementDeps,
  opts: { kind: TransferRow['kind']; schema: S; create: (principal: Principal, key: string, input: z.infer<S>) => Promise<{ transfer: TransferRow; replayed: boolean }> },
): void {
  const collection = opts.kind === 'payout' ? 'payouts' : 'transfers';
  router.post(`/${collection}`, requireRole('admin', 'client'), async (req, res) => {
    const principal = principalOf(req);
    const key = idempotencyKeyOf(req, true);
    const input = parseInput(opts.schema, req.body);
    await startAndRespond(req, res, deps, await opts.create(principal, key, input));
  });
  router.get(`/${collection}/:id`, requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const found = await deps.transfers.getVisible(principalOf(req), pathId(req.params.id));
    if (!found || found.kind !== opts.kind) throw ApiError.of(ApiErrorCode.NotFound, `No ${opts.kind} with this id.`);
    res.json(await deps.presenter.present(found, principalOf(req)));
  });
}

export function transferRoutes(deps: {
  transfers: TransferService;
  accounts: AccountService;
  gateway: TransferWorkflowGateway;
  presenter: TransferPresenter;
  syncWaitMs: number;
}): Router {
  const { transfers, presenter } = deps;
  const router = Router();

  movementEndpoints(router, deps, { kind: 'transfer', schema: CreateTransfer, create: transfers.create });

  router.get('/transfers', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const principal = principalOf(req);
    const query = parseInput(ListTransfers, req.query);
    if (query.account_id) await deps.accounts.mustGetVisible(principal, query.account_id);
    const after = await resolveCursor(query.cursor, CreatedAtIdCursor, (key) => transfers.findListed(principal, 'transfer', key));
    const page = await transfers.list(principal, { kind: 'transfer', accountId: query.account_id, status: query.status, limit: query.limit, after });
    res.json({
      data: await presenter.presentMany(page.transfers, principal),
      next_cursor: page.next ? encodeCursor(page.next) : null,
    });
  });

  return router;
}
