/**
 * When a failed webhook delivery is tried again: after `initialSeconds`, then twice as long each
 * time up to `maxIntervalSeconds`, until the waits add up to `windowSeconds`; the last attempt is
 * made at the window's end. With the defaults (30 s, 4 h, 3 days) that is 27 attempts: 30 s, 1 min,
 * 2 min … 4 h, then every 4 h.
 */
export type RetrySchedule = { initialSeconds: number; maxIntervalSeconds: number; windowSeconds: number };

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { initialSeconds: 30, maxIntervalSeconds: 4 * 3600, windowSeconds: 3 * 24 * 3600 };

export function retryDelaysSeconds(schedule: RetrySchedule): number[] {
  const delays: number[] = [];
  let waited = 0;
  let next = schedule.initialSeconds;
  while (waited < schedule.windowSeconds) {
    const delay = Math.min(next, schedule.maxIntervalSeconds, schedule.windowSeconds - waited);
    delays.push(delay);
    waited += delay;
    next *= 2;
  }
  return delays;
}
