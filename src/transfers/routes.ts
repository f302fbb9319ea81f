import { trace } from '@opentelemetry/api';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { RESPONSE_MESSAGES, ResponseCode } from '../../workflows/contract';
import { visibleAccountOr404 } from '../accounts/routes';
import type { AccountService } from '../accounts/service';
import { principalOf, requireRole } from '../auth/middleware';
import type { Principal } from '../auth/service';
import { ApiError, HttpErrorCode } from '../http/errors';
import { idempotencyKeyOf } from '../http/idempotency';
import { AmountWithCurrency, body, Decimal, errors, Id, idempotencyHeader, json, op, page, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { CreatedAtIdCursor, encodeCursor, PageQuery, resolveCursor } from '../http/pagination';
import { DEPENDENCY_RETRY_AFTER_SECONDS, unreachableDependency } from '../http/unavailable';
import { AmountString, DecimalString, parseInput, pathId, Reference, SafeText, Uuid } from '../http/validation';
import { Entry } from '../accounts/routes';
import { OverrideFeesSchema } from '../pricing/overrides';
import { CalculatedFees } from '../pricing/routes';
import { OPERATIONS } from '../tariffs/schedule';
import type { TransferRow } from './model';
import type { TransferPresenter } from './presenter';
import type { TransferService } from './service';
import type { TransferWorkflowGateway } from './workflow-gateway';

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

/** What the create-and-answer path of transfers and payouts needs. */
export type MovementRouteDeps = { transfers: TransferService; gateway: TransferWorkflowGateway; presenter: TransferPresenter; syncWaitMs: number };

/** Transfer or payout still open: processing, or (payouts) sent and awaiting settlement. */
const isOpen = (t: TransferRow) => t.status === 'processing' || t.status === 'sent';

/**
 * Starts (or attaches to) a new transfer's or payout's workflow and answers: 201 with the outcome
 * when it is reached within the bound (a decline or a hold is an outcome, with its response code);
 * otherwise 202 with a Location to poll.
 */
export async function startAndRespond(req: Request, res: Response, deps: MovementRouteDeps, created: { transfer: TransferRow; replayed: boolean }): Promise<void> {
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
  deps: MovementRouteDeps,
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
    if (!found || found.kind !== opts.kind) throw ApiError.of(HttpErrorCode.NotFound, `No ${opts.kind} with this id.`);
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
    if (query.account_id) await visibleAccountOr404(deps.accounts, principal, query.account_id);
    const after = await resolveCursor(query.cursor, CreatedAtIdCursor, (key) => transfers.findListed(principal, 'transfer', key));
    const page = await transfers.list(principal, { kind: 'transfer', accountId: query.account_id, status: query.status, limit: query.limit, after });
    res.json({
      data: await presenter.presentMany(page.transfers, principal),
      next_cursor: page.next ? encodeCursor(page.next) : null,
    });
  });

  return router;
}

const TransferStatusSchema = ListTransfers.shape.status.unwrap();

const RESPONSE_CODES = Object.values(ResponseCode);
export const ResponseCodeSchema = z.enum(RESPONSE_CODES).meta({
  id: 'ResponseCode',
  description:
    'The outcome of a transfer or payout: ' +
    RESPONSE_CODES.map((c) => `\`${c}\` ${RESPONSE_MESSAGES[c]}`).join(', ') +
    '. `1` completed; `12` held (quarantined) for a compliance decision; `101` declined (inactive account or holder, same account, ' +
    'currency mismatch, no or stale FX rate, an amount that converts to nothing); `606` failed, contact support (cancelled or ended ' +
    'by an operator; nothing was moved); `650` insufficient funds; `651` refused by compliance (rejected, expired hold, or a screening decline). ' +
    'A decline is a transfer with a code, not an HTTP error. Null while processing.',
});

export const Transfer = z
  .object({
    id: Id,
    kind: z.enum(['transfer', 'payout']),
    ref_id: z.string(),
    status: TransferStatusSchema,
    response_code: ResponseCodeSchema.nullable(),
    message: z.string().nullable().meta({ description: "The response code's message, or why it was declined" }),
    source_account_id: Id,
    destination_account_id: Id,
    operation_type: z.enum(OPERATIONS),
    source_amount: AmountWithCurrency.meta({ description: 'amount is null until the workflow has priced the side the client did not give' }),
    target_amount: AmountWithCurrency,
    fx_rate: Decimal.nullable(),
    market_rate: Decimal.nullable(),
    calculated_fees: CalculatedFees.nullable(),
    quote_id: Id.nullable(),
    reference: z.string(),
    description: z.string().nullable(),
    external_id: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    source_entry: Entry.nullable().meta({ description: 'The ledger entry on the source account once posted; null for a client key that does not own it' }),
    destination_entry: Entry.nullable(),
    beneficiary_id: Id.nullable().optional().meta({ description: 'Payouts only' }),
    rail_reference: z.string().nullable().optional().meta({ description: "Payouts only: the rail's reference once sent" }),
    sent_at: Timestamp.nullable().optional().meta({ description: 'Payouts only' }),
    settled_at: Timestamp.nullable().optional().meta({ description: 'Payouts only' }),
    workflow_id: z.string(),
    created_at: Timestamp,
    completed_at: Timestamp.nullable(),
  })
  .meta({ id: 'Transfer', description: 'A transfer or a payout, with its outcome (response_code) and the entries it posted.' });
type _TransferDocumented = Assert<Documents<typeof Transfer, Awaited<ReturnType<TransferPresenter['present']>>>>;

const MovementHeaders = z.object({
  Location: z.string().meta({ description: 'The transfer or payout, to poll' }),
  'Idempotent-Replayed': z.literal('true').optional().meta({ description: 'Present when this answer replays an earlier request with the same key' }),
});

/** POST /v1/<kind>s and GET /v1/<kind>s/{id}: the paths movementEndpoints registers. */
export function movementPaths(kind: 'transfer' | 'payout', schema: z.ZodType, tag: string, extra: string): OpenApiPaths {
  const collection = `/v1/${kind}s`;
  const Title = kind === 'transfer' ? 'Transfer' : 'Payout';
  return {
    [collection]: {
      post: op(tag, `create${Title}`, `Create a ${kind}`, {
        description: `${roles('admin', 'client')} ${extra} Recorded, then run as a Temporal workflow; the answer waits up to TRANSFER_SYNC_WAIT_MS for the outcome.`,
        requestParams: { header: idempotencyHeader(true) },
        requestBody: body(schema),
        responses: {
          '201': json('The outcome: completed (`1`), held (`12`), or declined with its code (`101`, `650`, `651`)', Transfer, MovementHeaders),
          '202': json('Still processing: poll Location', Transfer, MovementHeaders),
          ...errors(...V1, ...BODY, 403, 409),
        },
      }),
    },
    [`${collection}/{id}`]: {
      get: op(tag, `get${Title}`, `Get a ${kind}`, {
        description: roles('admin', 'compliance', 'client'),
        requestParams: { path: pathIds('id') },
        responses: { '200': json(Title, Transfer), ...errors(...V1, 403, 404) },
      }),
    },
  };
}

const transferMovementPaths = movementPaths(
  'transfer',
  CreateTransfer,
  'Transfers',
  'Exactly one of source_amount or target_amount. Across currencies the transfer may carry quote_id; admin keys may set fx_rate and override_fees.',
);

export const transferPaths: OpenApiPaths = {
  ...transferMovementPaths,
  '/v1/transfers': {
    ...transferMovementPaths['/v1/transfers'],
    get: op('Transfers', 'listTransfers', 'List transfers', {
      description: `${roles('admin', 'compliance', 'client')} Newest first. A client key sees the transfers its customer sends and the completed ones it receives.`,
      requestParams: { query: ListTransfers },
      responses: { '200': json('A page of transfers', page(Transfer)), ...errors(...V1, 403, 404, 422) },
    }),
  },
};
