import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { TransferActivities } from '../../activities';

export type WorkerSetup = {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Built by createActivities over real dependencies (tests may wrap them to inject faults). */
  activities: TransferActivities;
  /** A pre-built workflow bundle (tests build it once per run); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
};

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export async function createWorker(setup: WorkerSetup): Promise<Worker> {
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: setup.activities,
  });
}
