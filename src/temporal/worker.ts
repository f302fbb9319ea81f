import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';

export type WorkerSetup = {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Built by createActivities over real dependencies (tests may wrap them to inject faults). */
  activities: object;
  /** A pre-built workflow bundle (tests build it once per run); otherwise `workflowsPath` is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Defaults to the project's workflows (workflows/index.ts); the benchmark passes its own. */
  workflowsPath?: string;
};

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export async function createWorker(setup: WorkerSetup): Promise<Worker> {
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: setup.workflowsPath ?? WORKFLOWS_PATH }),
    activities: setup.activities,
  });
}
