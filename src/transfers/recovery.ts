import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import { recoveryRestarts } from '../observability/metrics';
import type { TransferRow } from './model';
import type { TransferWorkflowGateway } from './workflow-gateway';
import { contactSupport } from '../../workflows/contract';
import type { TransferRepository } from './repository';

/**
 * The API writes a transfer before it starts its workflow. If the process dies (or Temporal is
 * unreachable) between the two, the transfer would sit in `processing` with nothing running it.
 * This sweep (re)starts the workflow of every transfer that no workflow has prepared yet (still
 * `processing`, nothing reserved or posted) after `minAgeMs`; for one whose workflow exists the start is a
 * no-op (USE_EXISTING / REJECT_DUPLICATE). It runs when the API starts, then every interval.
 */
export function createTransferRecovery(deps: { db: Db; transfers: TransferRepository; gateway: TransferWorkflowGateway; logger: Logger; minAgeMs: number; batchSize?: number }) {
  async function sweepOnce(): Promise<number> {
    const stale = (await deps.db('transfers')
      .where({ status: 'processing' })
      .whereNull('hold_id')
      .whereNull('ledger_transaction_id')
      .andWhere('created_at', '<', deps.db.raw(`now() - make_interval(secs => ?)`, [deps.minAgeMs / 1000]))
      .orderBy('created_at')
      .limit(deps.batchSize ?? 100)) as TransferRow[];
    for (const transfer of stale) {
      const started = await deps.gateway.ensureStarted(transfer).catch((err: unknown) => {
        recoveryRestarts.inc({ result: 'error' });
        throw err;
      });
      recoveryRestarts.inc({ result: started });
      if (started === 'closed') await closedUnprepared(transfer);
    }
    return stale.length;
  }

  /**
   * Its workflow ended without touching it (an operator terminated it, say): nothing was reserved or
   * posted, and nothing will run it again. Record it failed, so it leaves the sweep and the client learns.
   */
  async function closedUnprepared(t: TransferRow): Promise<void> {
    await deps.transfers.recordOutcome(t.id, contactSupport('its workflow ended before it ran; nothing was moved'));
    deps.logger.warn({ transferId: t.id, workflowId: t.workflow_id }, 'transfer recorded failed: its workflow ended before it ran');
  }

  /** Runs sweepOnce now and every `intervalMs` until stopped (one at a time); a failed sweep is logged and retried next time. */
  function start(intervalMs: number): () => Promise<void> {
    let running: Promise<unknown> | undefined;
    const tick = () => {
      running ??= sweepOnce()
        .catch((err) => deps.logger.warn({ err }, 'transfer recovery sweep failed'))
        .finally(() => (running = undefined));
    };
    tick();
    const timer = setInterval(tick, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }

  return { sweepOnce, start };
}
