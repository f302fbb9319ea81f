/**
 * The engine's ceiling on a Temporal server: workflows with one no-op activity and with one no-op
 * local activity, run by a worker process of the project's kind (bench/engine-worker.ts), started
 * and awaited by a client in this process.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { stopChild } from '../stack/temporal/process';
import { atConcurrency, oneAtATime, type Latency, type Throughput } from '../harness/timing';

export type EngineResult = { oneActivity: Latency & Throughput; oneLocalActivity: Latency & Throughput };
export type Workload = { sequential: number; total: number; concurrency: number };

export async function measureEngine(label: string, temporalAddress: string, load: Workload): Promise<EngineResult> {
  const taskQueue = `bench-engine-${randomUUID().slice(0, 8)}`;
  const worker = spawn(process.execPath, [require.resolve('tsx/cli'), path.join(__dirname, 'engine-worker.ts')], {
    env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, BENCH_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('exit', (code) => reject(new Error(`the engine worker exited (${code})`)));
      worker.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    });
    const client = new Client({ connection });
    // By type name: the workflows live in the worker's bundle (bench/engine-workflows.ts).
    const measure = async (name: string, workflowType: 'benchOneActivity' | 'benchOneLocalActivity') => {
      const run = async () => {
        await client.workflow.execute(workflowType, { taskQueue, workflowId: `bench-${randomUUID()}` });
      };
      const latency = await oneAtATime(`${label} ${name}`, load.sequential, run);
      const throughput = await atConcurrency(`${label} ${name}`, load.total, load.concurrency, run);
      return { ...latency, ...throughput };
    };
    return {
      oneActivity: await measure('one activity', 'benchOneActivity'),
      oneLocalActivity: await measure('one local activity', 'benchOneLocalActivity'),
    };
  } finally {
    worker.removeAllListeners('exit');
    await stopChild(worker);
    await connection.close();
  }
}
