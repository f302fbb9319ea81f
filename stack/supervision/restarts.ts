import type { Logger } from 'pino';

/** A child process as the supervisor sees it. */
export type RunningChild = {
  pid: number | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
};

export type RestartPolicy = {
  /** First wait before a restart; doubled after each failed or short-lived attempt. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** More restarts than this within `windowMs` and the supervisor gives up (the process exits non-zero). */
  maxRestarts: number;
  windowMs: number;
};

/** What every supervised child shares: where to log, what to do on giving up, and whether the whole process is stopping. */
export type Supervision = {
  logger: Logger;
  onGiveUp: (err: Error) => void;
  /** True once a shutdown began: a child exiting then (Ctrl-C reaches the children too) is not restarted. */
  shuttingDown: () => boolean;
  policy?: RestartPolicy;
};

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 15_000, maxRestarts: 6, windowMs: 5 * 60_000 };

/** Timers that do not by themselves keep the process alive. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Keeps one child running: when it exits without being asked to, it is started again after a
 * backoff (1 s, 2 s, 4 s ... up to 15 s), each step logged. When it keeps dying (more than
 * `maxRestarts` within `windowMs`) the supervisor gives up and calls `onGiveUp`: `npm start` then
 * exits non-zero so that an outer supervisor (systemd, Kubernetes) can take over.
 */
export function superviseChild(
  supervision: Supervision,
  opts: { name: string; first: RunningChild; restart: () => Promise<RunningChild>; onRestarted?: (child: RunningChild) => void },
): { stop: () => Promise<void>; current: () => RunningChild } {
  const policy = supervision.policy ?? DEFAULT_RESTART_POLICY;
  const log = supervision.logger.child({ child: opts.name });
  let current = opts.first;
  let stopped = false;
  const stopping = () => stopped || supervision.shuttingDown();
  const restarts: number[] = [];

  const watch = async () => {
    let delay = policy.initialDelayMs;
    for (;;) {
      const { code, signal } = await current.exited;
      if (stopping()) return;
      for (;;) {
        const now = Date.now();
        while (restarts.length > 0 && (restarts[0] as number) < now - policy.windowMs) restarts.shift();
        if (restarts.length >= policy.maxRestarts) {
          const err = new Error(`${opts.name} died ${restarts.length + 1} times within ${policy.windowMs / 1000} s; giving up so that an outer supervisor can take over`);
          log.fatal({ err }, err.message);
          supervision.onGiveUp(err);
          return;
        }
        restarts.push(now);
        log.error({ code, signal, pid: current.pid, retryInMs: delay }, `${opts.name} exited unexpectedly (code ${code}, signal ${signal}); restarting in ${delay / 1000} s`);
        await sleep(delay);
        if (stopping()) return;
        delay = Math.min(delay * 2, policy.maxDelayMs);
        let restarted: RunningChild;
        try {
          restarted = await opts.restart();
        } catch (err) {
          log.error({ err }, `${opts.name} could not be restarted: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        current = restarted;
        if (stopping()) {
          await current.stop();
          return;
        }
        log.warn({ pid: current.pid, restarts: restarts.length }, `${opts.name} restarted`);
        try {
          opts.onRestarted?.(current);
        } catch (err) {
          log.error({ err }, `after restarting ${opts.name}`);
        }
        break;
      }
      // A child that then stays up for a minute starts the next backoff from the beginning again.
      const stayedUp = await Promise.race([current.exited.then(() => false), sleep(60_000).then(() => true)]);
      if (stayedUp) delay = policy.initialDelayMs;
    }
  };
  void watch();

  return {
    current: () => current,
    stop: async () => {
      stopped = true;
      await current.stop();
    },
  };
}
