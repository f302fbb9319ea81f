/**
 * A worker of the same kind as the project's (the same createWorker, the same runtime set-up) that
 * runs only the engine-ceiling workflows, as a process of its own: `tsx bench/engine-worker.ts`
 * with TEMPORAL_ADDRESS and BENCH_TASK_QUEUE set. Prints "ready" once it polls.
 */
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../src/logger';
import { installTemporalRuntime } from '../src/temporal/runtime';
import { createWorker } from '../worker/temporal-worker';

export const engineActivities = {
  async noop(): Promise<void> {},
};
export type EngineActivities = typeof engineActivities;

async function main() {
  const address = process.env.TEMPORAL_ADDRESS;
  const taskQueue = process.env.BENCH_TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('TEMPORAL_ADDRESS and BENCH_TASK_QUEUE are required');
  installTemporalRuntime(createLogger('warn', 'bench-engine-worker'));
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    activities: engineActivities,
    workflowsPath: require.resolve('./engine-workflows'),
  });
  process.on('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
