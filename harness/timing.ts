/** Timing helpers shared by every benchmark section: one at a time (p50), and N at a time (per second). */

export type Latency = { p50Ms: number; p95Ms: number; samples: number };
export type Throughput = { perSecond: number; completed: number; elapsedMs: number; /** Latencies of the calls made at concurrency. */ concurrentP50Ms: number; concurrentP99Ms: number; concurrentMaxMs: number };

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Progress on stderr, so the table on stdout stays clean. */
export function say(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Runs `fn` `warmup + samples` times, one after the other, and reports the latency of the last `samples`. */
export async function oneAtATime(label: string, samples: number, fn: () => Promise<void>, warmup = Math.min(5, samples)): Promise<Latency> {
  const times: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const started = performance.now();
    await fn();
    if (i >= warmup) times.push(performance.now() - started);
  }
  const result = { p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), samples: times.length };
  say(`${label}: p50 ${result.p50Ms.toFixed(1)} ms, p95 ${result.p95Ms.toFixed(1)} ms (${samples} one at a time)`);
  return result;
}

/**
 * Runs `fn(i)` for i in [0, total) with `concurrency` calls in flight at any time (each virtual
 * client starts its next call when the last one ends) and reports completions per second over
 * the whole run, with a progress line every few seconds.
 */
export async function atConcurrency(label: string, total: number, concurrency: number, fn: (i: number, client: number) => Promise<void>): Promise<Throughput> {
  let next = 0;
  let completed = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const ticker = setInterval(() => say(`${label}: ${completed}/${total} after ${((performance.now() - started) / 1000).toFixed(0)} s`), 5000);
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, total) }, async (_, client) => {
        for (let i = next++; i < total; i = next++) {
          const callStarted = performance.now();
          await fn(i, client);
          latencies.push(performance.now() - callStarted);
          completed++;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  const elapsedMs = performance.now() - started;
  const result = {
    perSecond: (completed * 1000) / elapsedMs,
    completed,
    elapsedMs,
    concurrentP50Ms: percentile(latencies, 50),
    concurrentP99Ms: percentile(latencies, 99),
    concurrentMaxMs: percentile(latencies, 100),
  };
  say(
    `${label}: ${result.perSecond.toFixed(1)}/s (${completed} at ${concurrency} concurrent in ${(elapsedMs / 1000).toFixed(1)} s; ` +
      `latency p50 ${result.concurrentP50Ms.toFixed(0)} ms, p99 ${result.concurrentP99Ms.toFixed(0)} ms, max ${result.concurrentMaxMs.toFixed(0)} ms)`,
  );
  return result;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
