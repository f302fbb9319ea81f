import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';

export type WorkerSetup = {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Real dependencies, or wrapped ones in tests. */
  activityDeps: ActivityDeps;
  /** Activities to use instead of those built from activityDeps (tests inject faults this way). */
  activities?: ReturnType<typeof createActivities>;
  /** A pre-built workflow bundle (tests build it once per run); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Omitted in production so the SDK's defaults apply. */
  maxConcurrentActivityTaskExecutions?: number;
};

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export async function createWorker(setup: WorkerSetup): Promise<Worker> {
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: setup.activities ?? createActivities(setup.activityDeps),
    ...(setup.maxConcurrentActivityTaskExecutions ? { maxConcurrentActivityTaskExecutions: setup.maxConcurrentActivityTaskExecutions } : {}),
  });
}
