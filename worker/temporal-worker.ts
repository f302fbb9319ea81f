import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { temporalWorkerTracing } from '../src/observability/tracing';

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

export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createWorker(setup: WorkerSetup): Promise<Worker> {
  // Only when tracing is on. A pre-built bundle cannot take interceptor modules here: it must have been
  // built with WORKFLOW_TRACING_INTERCEPTORS_MODULE in bundleWorkflowCode's workflowInterceptorModules.
  const tracing = temporalWorkerTracing({ prebuiltBundle: Boolean(setup.workflowBundle) });
  return Worker.create({
    connection: setup.connection,
    namespace: setup.namespace,
    taskQueue: setup.taskQueue,
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath: setup.workflowsPath ?? WORKFLOWS_PATH }),
    activities: setup.activities,
    ...tracing,
  });
}

/**
 * A worker that runs activities only (no workflows, so no bundle): the webhook deliveries' HTTP
 * calls on a queue of their own, beside the main worker in the same process.
 */
export async function createActivityWorker(setup: Omit<WorkerSetup, 'workflowBundle' | 'workflowsPath'>): Promise<Worker> {
  return Worker.create({ connection: setup.connection, namespace: setup.namespace, taskQueue: setup.taskQueue, activities: setup.activities });
}
