/**
 * docker-compose's health check of a worker container: exits 0 when the Temporal server has seen
 * this container's worker poll its task queue (workflow and activity tasks) within the last
 * two minutes, else 1. The SDK names each worker `<pid>@<hostname>`, and a health check runs in
 * the worker's container, so the hostname says which poller is this container's. A worker that
 * is up but cannot reach Temporal, or has stopped polling, is reported unhealthy; one that
 * polls but fails its activities is not (its errors are in the logs and metrics).
 */
import os from 'node:os';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../src/config';

const RECENT_MS = 120_000;

/** `identity`: one worker's exact identity (`<pid>@<hostname>`) rather than any on this host. */
export async function workerIsPolling(opts: { address: string; namespace: string; taskQueue: string; hostname?: string; identity?: string; now?: number }): Promise<boolean> {
  const hostname = opts.hostname ?? os.hostname();
  const isOurs = (identity: string) => (opts.identity ? identity === opts.identity : identity.endsWith(`@${hostname}`));
  const now = opts.now ?? Date.now();
  const connection = await Connection.connect({ address: opts.address, connectTimeout: 5_000 });
  try {
    const types = [temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY];
    for (const taskQueueType of types) {
      const { pollers } = await connection.workflowService.describeTaskQueue({ namespace: opts.namespace, taskQueue: { name: opts.taskQueue }, taskQueueType });
      const ours = (pollers ?? []).some((p) => {
        const seconds = Number(p.lastAccessTime?.seconds ?? 0);
        return isOurs(p.identity ?? '') && now - seconds * 1000 < RECENT_MS;
      });
      if (!ours) return false;
    }
    return true;
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  const config = loadConfig();
  const address = config.temporal.address;
  const timer = setTimeout(() => {
    console.error('unhealthy: no answer from Temporal within 10 s');
    process.exit(1);
  }, 10_000);
  (address ? workerIsPolling({ address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue }) : Promise.reject(new Error('TEMPORAL_ADDRESS is not set')))
    .then((ok) => {
      clearTimeout(timer);
      if (!ok) console.error(`unhealthy: no worker on ${os.hostname()} has polled task queue ${config.temporal.taskQueue} in the last ${RECENT_MS / 1000} s`);
      process.exit(ok ? 0 : 1);
    })
    .catch((err: unknown) => {
      console.error(`unhealthy: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
