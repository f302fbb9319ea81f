/** Transfers and payouts over HTTP, one at a time and at concurrency, as the benchmark measures them. */
import type { ApiClient, Movement } from '../harness/api';
import { submit } from '../harness/submit';
import { atConcurrency, oneAtATime, type Latency, type Throughput } from '../harness/timing';

export type MovementResult = Latency &
  Throughput & {
    /** Of the concurrent run: the share answered 201 with the outcome (not 202 "still processing"). */
    answered201: number;
    /** Terminal statuses seen, e.g. {completed: 300}: anything but `completed` is worth a look. */
    statuses: Record<string, number>;
  };

export async function measureMovements(label: string, api: ApiClient, movements: Movement[], load: { sequential: number; total: number; concurrency: number }): Promise<MovementResult> {
  const first = movements[0] as Movement;
  const latency = await oneAtATime(label, load.sequential, async () => {
    await submit(api, first);
  });
  const statuses: Record<string, number> = {};
  let answered201 = 0;
  const throughput = await atConcurrency(label, load.total, load.concurrency, async (_i, client) => {
    const done = await submit(api, movements[client % movements.length] as Movement);
    if (done.answer === 201) answered201++;
    statuses[done.status] = (statuses[done.status] ?? 0) + 1;
  });
  return { ...latency, ...throughput, answered201: answered201 / throughput.completed, statuses };
}
