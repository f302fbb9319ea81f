import type { Logger } from 'pino';
import type { Db } from '../db/knex';
import type { TransferRow } from './model';
import type { TransferWorkflowGateway } from './workflow-gateway';

/**
 * The API writes a transfer before it starts its workflow. If the process dies (or Temporal is
 * unreachable) between the two, the transfer would sit in `processing` with nothing running it.
 * This sweep (re)starts the workflow of every transfer that has been processing for a while;
 * for those already running or finished the start is a no-op (USE_EXISTING / REJECT_DUPLICATE).
 */
export function createTransferRecovery(deps: { db: Db; gateway: TransferWorkflowGateway; logger: Logger; minAgeMs: number; batchSize?: number }) {
  async function sweepOnce(): Promise<number> {
    const stale = (await deps.db('transfers')
      .where({ status: 'processing' })
      .andWhere('created_at', '<', deps.db.raw(`now() - make_interval(secs => ?)`, [deps.minAgeMs / 1000]))
      .orderBy('created_at')
      .limit(deps.batchSize ?? 100)) as TransferRow[];
    for (const transfer of stale) {
      await deps.gateway.ensureStarted(transfer);
    }
    return stale.length;
  }

  /** Runs sweepOnce every `intervalMs` until stopped; a failed sweep is logged and retried next time. */
  function start(intervalMs: number): () => Promise<void> {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = sweepOnce().catch((err) => deps.logger.warn({ err }, 'transfer recovery sweep failed'));
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }

  return { sweepOnce, start };
}
