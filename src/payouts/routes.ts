import { timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { ApiError, ApiErrorCode } from '../api/errors';
import { AmountString, parseInput, Reference, SafeText, Uuid } from '../api/validation';
import type { Db } from '../db/knex';
import { DecimalString, OverrideFeesSchema } from '../pricing/overrides';
import type { TransferRow } from '../transfers/model';
import type { TransferPresenter } from '../transfers/presenter';
import type { TransferService } from '../transfers/service';
import type { TransferWorkflowGateway } from '../transfers/workflow-gateway';
import { movementEndpoints } from '../transfers/routes';

const CreatePayout = z.strictObject({
  source_account_id: Uuid,
  beneficiary_id: Uuid,
  source_amount: AmountString.optional(),
  target_amount: AmountString.optional(),
  reference: Reference,
  description: SafeText(255).optional(),
  external_id: SafeText(255).pipe(z.string().min(1)).optional(),
  fx_rate: DecimalString.optional(),
  override_fees: OverrideFeesSchema.optional(),
  metadata: z.record(SafeText(64).pipe(z.string().min(1)), SafeText(500)).optional(),
});

const RailEvent = z.object({
  payout_id: Uuid,
  rail_reference: z.string().min(1).max(100),
  event: z.enum(['settled', 'returned']),
  reason: z.string().max(500).optional(),
});

/** Seed 001's pay_out: the same 201/202 behaviour and idempotency as transfers. */
export function payoutRoutes(deps: {
  db: Db;
  transfers: TransferService;
  gateway: TransferWorkflowGateway;
  presenter: TransferPresenter;
  syncWaitMs: number;
}): Router {
  const router = Router();
  movementEndpoints(router, deps, { kind: 'payout', schema: CreatePayout, create: deps.transfers.createPayout });
  return router;
}

/**
 * The payout rail's callbacks (settled, returned), authenticated by a shared secret, delivered to
 * the payout's workflow as the `railEvent` signal.
 */
export function railEventRoutes(deps: { db: Db; gateway: TransferWorkflowGateway; secret: string }): Router {
  const router = Router();
  const expected = Buffer.from(deps.secret);
  const authorized = (req: Request) => {
    const given = Buffer.from(req.get('x-rail-secret') ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  router.post('/events', async (req, res) => {
    if (!authorized(req)) throw ApiError.of(ApiErrorCode.Unauthenticated, 'Unknown rail credentials.');
    const event = parseInput(RailEvent, req.body);
    const payout = await deps.db('transfers').where({ id: event.payout_id, kind: 'payout' }).first<TransferRow | undefined>();
    if (!payout) throw ApiError.of(ApiErrorCode.NotFound, 'No payout with this id.');
    try {
      await deps.gateway.sendRailEvent(payout, { event: event.event, railReference: event.rail_reference, reason: event.reason });
    } catch (err) {
      req.log.warn({ err, payoutId: payout.id }, 'rail event for a payout whose workflow is closed');
      throw ApiError.of(ApiErrorCode.PayoutClosed, 'This payout no longer accepts rail events.');
    }
    res.status(202).json({ accepted: true });
  });
  return router;
}
