import { WorkflowNotFoundError } from '@temporalio/client';
import express, { Router } from 'express';
import { z } from 'zod';
import { ApiError, HttpErrorCode } from '../http/errors';
import { errors, json, op, type OpenApiPaths } from '../http/openapi';
import { AmountString, DecimalString, parseInput, Reference, SafeText, Uuid } from '../http/validation';
import { OverrideFeesSchema } from '../pricing/overrides';
import { DEFAULT_RAIL_CALLBACK_TOLERANCE_SECONDS, RAIL_SIGNATURE_HEADER, RAIL_TIMESTAMP_HEADER, verifyRailCallback } from '../rail/signature';
import { Refusal } from '../refusal';
import type { TransferRepository } from '../transfers/repository';
import { movementEndpoints, movementPaths, type MovementRouteDeps } from '../transfers/routes';
import type { TransferWorkflowGateway } from '../transfers/workflow-gateway';
import { payoutForRailEvent } from './rail-events';
import { PayoutRefusal } from './refusals';

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

/** Pay-outs to beneficiaries: the same 201/202 behaviour and idempotency as transfers. */
export function payoutRoutes(deps: MovementRouteDeps): Router {
  const router = Router();
  movementEndpoints(router, deps, { kind: 'payout', schema: CreatePayout, create: deps.transfers.createPayout });
  return router;
}

/**
 * The payout rail's callbacks (settled, returned), delivered to the payout's workflow as the
 * `railEvent` signal. Each is signed (src/rail/signature.ts: HMAC-SHA256 under the shared secret over
 * the timestamp and the raw body, refused outside the tolerance window), so this router reads the
 * body itself: the signature is checked against the bytes received, before anything is parsed.
 */
export function railEventRoutes(deps: {
  transfers: TransferRepository;
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
    const check = verifyRailCallback({ secret: deps.secret, timestamp: req.get(RAIL_TIMESTAMP_HEADER), signature: req.get(RAIL_SIGNATURE_HEADER), body: raw, toleranceSeconds });
    if (!check.ok) throw ApiError.of(HttpErrorCode.InvalidSignature, check.message);
    if (!req.is('application/json')) throw ApiError.of(HttpErrorCode.UnsupportedMediaType, 'Send the body as application/json.');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw ApiError.of(HttpErrorCode.MalformedJson, 'The request body is not valid JSON.');
    }
    const event = parseInput(RailEvent, body);
    const payout = await payoutForRailEvent(deps.transfers, event);
    if (!payout) throw ApiError.of(HttpErrorCode.NotFound, 'No payout with this id.');
    try {
      await deps.gateway.sendRailEvent(payout, { event: event.event, railReference: event.rail_reference, reason: event.reason });
    } catch (err) {
      // Only a workflow that has ended is a refusal; an unreachable engine is a 503 the rail retries.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      req.log.warn({ err, payoutId: payout.id }, 'rail event for a payout whose workflow is closed');
      throw new Refusal(PayoutRefusal.Closed, 'This payout no longer accepts rail events.');
    }
    res.status(202).json({ accepted: true });
  });
  return router;
}

export const payoutPaths: OpenApiPaths = {
  ...movementPaths('payout', CreatePayout, 'Payouts', 'To a beneficiary, through the payout rail: completed (`1`) when posted to payouts in transit, then `sent`, settled or `returned` by the rail.'),
  '/rail/events': {
    post: op('Payouts', 'railEvent', 'Rail callback: a payout settled or returned', {
      description:
        'Called by the payout rail, not by API clients. Signed: `X-Rail-Timestamp: <unix seconds>` and `X-Rail-Signature: v1=<hex HMAC-SHA256(RAIL_CALLBACK_SECRET, "<timestamp>.<raw body>")>`, ' +
        'refused (401 `invalid_signature`) when missing, wrong, or outside the tolerance window (300 s). The event must name the rail reference recorded on the payout.',
      security: [{ railTimestamp: [], railSignature: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: RailEvent } } },
      responses: {
        '202': json("Delivered to the payout's workflow", z.object({ accepted: z.literal(true) })),
        ...errors(400, 401, 404, 409, 413, 415, 422, 500, 503),
      },
    }),
  },
};
