/**
 * A transfer or payout over HTTP, as a client integrates one: POST with an Idempotency-Key, take
 * the 201 outcome, or poll the Location of a 202 until the movement is terminal. Shared by the
 * benchmark, the chaos runs and the end-to-end tests.
 */
import { randomUUID } from 'node:crypto';
import type { ApiClient, ApiResponse, Movement } from './api';
import { sleep } from './timing';

/** Statuses a client keeps polling through (held is an answer: it waits for a person). */
const OPEN = new Set(['processing', 'sent']);

export type SubmitOptions = {
  /**
   * As a client does when the service is down (a crash, a dependency restarting): a failure on the
   * wire, a 5xx or a 429 is retried with the same Idempotency-Key and body (after its Retry-After,
   * if it gives one), and so is every poll.
   */
  whileDown?: boolean;
  /** Told of each retry: the status that caused it, or `network`. */
  onRetry?: (cause: number | 'network') => void;
  /** Gives up (throws) once aborted, between attempts. */
  signal?: AbortSignal;
};

/** Retry-After in ms (seconds form), if the answer gave one. */
function retryAfterMs(res: ApiResponse | undefined): number | undefined {
  const value = Number(res?.headers['retry-after']);
  return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
}

/** One movement from request to terminal status; returns how the POST was answered and the final status. */
export async function submit(api: ApiClient, movement: Movement, key: string = randomUUID(), opts: SubmitOptions = {}): Promise<{ answer: number; status: string; id: string }> {
  const call = async (send: () => Promise<ApiResponse>): Promise<ApiResponse> => {
    for (;;) {
      opts.signal?.throwIfAborted();
      const res = await send().catch((err: unknown) => {
        if (!opts.whileDown) throw err;
        return undefined; // connection refused or reset: the service is down
      });
      if (res && (!opts.whileDown || (res.status < 500 && res.status !== 429))) return res;
      opts.onRetry?.(res?.status ?? 'network');
      await sleep(retryAfterMs(res) ?? 200);
    }
  };
  const res = await call(() => api.post(movement.path, movement.body, { 'idempotency-key': key }));
  if (res.status !== 201 && res.status !== 202) throw new Error(`${movement.path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  let current = res.body;
  while (OPEN.has(current.status)) {
    await sleep(50);
    const polled = await call(() => api.get(`${movement.path}/${current.id}`));
    if (polled.status !== 200) throw new Error(`GET ${movement.path}/${current.id} answered ${polled.status}`);
    current = polled.body;
  }
  return { answer: res.status, status: current.status, id: current.id };
}
