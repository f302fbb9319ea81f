import { WorkflowNotFoundError } from '@temporalio/client';
import express, { Router } from 'express';
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
import { DEFAULT_RAIL_CALLBACK_TOLERANCE_SECONDS, RAIL_SIGNATURE_HEADER, RAIL_TIMESTAMP_HEADER, verifyRailCallback } from '../rail/signature';

export const CreatePayout = z.strictObject({
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

export const RailEvent = z.object({
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
 * The payout rail's callbacks (settled, returned), delivered to the payout's workflow as the
 * `railEvent` signal. Each is signed (src/rail/signature.ts: HMAC-SHA256 under the shared secret over
 * the timestamp and the raw body, refused outside the tolerance window), so this router reads the
 * body itself: the signature is checked against the bytes received, before anything is parsed.
 * The event must name the rail reference recorded on the payout when the rail accepted it.
 */
export function railEventRoutes(deps: {
  db: Db;
  gateway: TransferWorkflowGateway;
  secret: string;
  /** How far a callback's signed timestamp may be from now (default 300 s). */
  toleranceSeconds?: number;
}): Router {
  const router = Router();
  const toleranceSeconds = deps.toleranceSeconds ?? DEFAULT_RAIL_CALLBACK_TOLERANCE_SECONDS;
  const rawBody = express.raw({ type: () => true, limit: '16kb' });
  router.post('/events', rawBody, async (req, res) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = verifyRailCallback({
      secret: deps.secret,
      timestamp: req.get(RAIL_TIMESTAMP_HEADER),
      signature: req.get(RAIL_SIGNATURE_HEADER),
      body: raw,
      toleranceSeconds,
    });
    if (!check.ok) throw ApiError.of(ApiErrorCode.InvalidSignature, check.message);
    if (!req.is('application/json')) throw ApiError.of(ApiErrorCode.UnsupportedMediaType, 'Send the body as application/json.');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw ApiError.of(ApiErrorCode.MalformedJson, 'The request body is not valid JSON.');
    }
    const event = parseInput(RailEvent, body);
    const payout = await deps.db('transfers').where({ id: event.payout_id, kind: 'payout' }).first<TransferRow | undefined>();
    if (!payout) throw ApiError.of(ApiErrorCode.NotFound, 'No payout with this id.');
    if (payout.rail_reference === null) {
      // The rail answers the send, then may call back before the send activity has recorded its
      // reference: an open payout answers 409 and the rail retries. A closed one never will be sent.
      if (payout.completed_at !== null) throw ApiError.of(ApiErrorCode.PayoutClosed, 'This payout no longer accepts rail events.');
      throw ApiError.of(ApiErrorCode.RailReferenceNotRecorded, 'No rail reference is recorded for this payout yet; retry shortly.', '#/rail_reference');
    }
    if (payout.rail_reference !== event.rail_reference) {
      throw ApiError.of(ApiErrorCode.RailReferenceMismatch, "The rail reference is not this payout's.", '#/rail_reference');
    }
    try {
      await deps.gateway.sendRailEvent(payout, { event: event.event, railReference: event.rail_reference, reason: event.reason });
    } catch (err) {
      // Only a workflow that has ended is a refusal; an unreachable engine is a 503 the rail retries.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      req.log.warn({ err, payoutId: payout.id }, 'rail event for a payout whose workflow is closed');
      throw ApiError.of(ApiErrorCode.PayoutClosed, 'This payout no longer accepts rail events.');
    }
    res.status(202).json({ accepted: true });
  });
  return router;
}
