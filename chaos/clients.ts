/**
 * The load: N concurrent clients submitting a mix of transfers and payouts, each with a fresh
 * Idempotency-Key, and retrying each request as a real client does (same key, same body; on a
 * failure on the wire, a 5xx or a 429, after its Retry-After) until it is answered, then polling
 * a 202 until the movement is terminal (bench/http.ts `submit`). Bounded by a count and a signal.
 */
import { randomUUID } from 'node:crypto';
import type { ApiClient, Movement } from '../harness/api';
import { submit } from '../harness/submit';
import { sleep } from '../harness/timing';

export type MovementKind = 'transfer' | 'fx_transfer' | 'payout';
export type PoolItem = { kind: MovementKind; movement: Movement };

/** One movement as its client saw it. */
export type Outcome = {
  key: string;
  kind: MovementKind;
  /** The transfer or payout id the API answered with, and its last status the client saw. */
  id?: string;
  status?: string;
  /** The POST's final answer (201 or 202), after any retries. */
  answer?: number;
  /** What made the client give up (a 4xx refusal, or the run's time limit). */
  error?: string;
  retries: number;
  /** Which of the load's APIs it was submitted to (and retried and polled on). */
  via: number;
  startedAt: number;
  endedAt?: number;
};

export type Load = {
  outcomes: Outcome[];
  /** Movements a client has started and not yet seen terminal. */
  inFlight: Set<Outcome>;
  /** Retries by cause: an HTTP status or `network`. */
  retries: Record<string, number>;
  done: Promise<void>;
};

/**
 * `released()`: how many movements clients may have started so far (a client waits at that mark
 * until it moves), so that the faults can be spread over the load with movements in flight at each.
 * Movement i goes to `apis[i % apis.length]`: replicas behind a load balancer, one client's view.
 */
export function startLoad(opts: { apis: ApiClient[]; pool: PoolItem[]; total: number; concurrency: number; signal: AbortSignal; released: () => number }): Load {
  const load: Omit<Load, 'done'> = { outcomes: [], inFlight: new Set(), retries: {} };
  const client = async () => {
    for (;;) {
      while (!opts.signal.aborted && load.outcomes.length >= Math.min(opts.released(), opts.total) && load.outcomes.length < opts.total) await sleep(20);
      if (opts.signal.aborted || load.outcomes.length >= opts.total) break;
      const index = load.outcomes.length;
      const item = opts.pool[index % opts.pool.length] as PoolItem;
      const via = index % opts.apis.length;
      const outcome: Outcome = { key: randomUUID(), kind: item.kind, retries: 0, via, startedAt: performance.now() };
      load.outcomes.push(outcome);
      load.inFlight.add(outcome);
      try {
        const onRetry = (cause: number | 'network') => {
          outcome.retries++;
          load.retries[cause] = (load.retries[cause] ?? 0) + 1;
        };
        Object.assign(outcome, await submit(opts.apis[via] as ApiClient, item.movement, outcome.key, { whileDown: true, onRetry, signal: opts.signal }));
      } catch (err) {
        outcome.error = err instanceof Error ? err.message : String(err);
      } finally {
        outcome.endedAt = performance.now();
        load.inFlight.delete(outcome);
      }
    }
  };
  return { ...load, done: Promise.all(Array.from({ length: opts.concurrency }, client)).then(() => undefined) };
}

/** How many of `xs` fall under each `key`. */
export function tally<T>(xs: T[], key: (x: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const x of xs) counts[key(x)] = (counts[key(x)] ?? 0) + 1;
  return counts;
}

/** Resolves with when every one of `outcomes` has ended, or undefined at `deadline` (performance.now()). */
export async function whenAllEnded(outcomes: Outcome[], deadline: number): Promise<number | undefined> {
  for (;;) {
    const open = outcomes.filter((o) => o.endedAt === undefined);
    if (open.length === 0) return Math.max(0, ...outcomes.map((o) => o.endedAt as number));
    if (performance.now() > deadline) return undefined;
    await sleep(50);
  }
}
