import type { Request, Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/knex';

/** /ready answers within this, whatever is down: a hung dependency counts as down. */
export const READINESS_BUDGET_MS = 500;

type Check = () => Promise<unknown>;

/** Resolves to whether `check` succeeded within `ms`; a check still running then is abandoned, not awaited. */
async function within(ms: number, check: Check): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([check().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /ready: 200 when Postgres and the Temporal server both answer within the budget, else 503
 * naming what is down (`{"status":"not_ready","down":["temporal"],...}`) so an operator or a load
 * balancer knows why without reading logs.
 */
export function readinessHandler(deps: { db: Db; temporal: Client }) {
  const checks: Record<string, Check> = {
    postgres: () => deps.db.raw('select 1'),
    temporal: () => deps.temporal.withDeadline(Date.now() + READINESS_BUDGET_MS, () => deps.temporal.workflowService.getSystemInfo({})),
  };
  // A probe still running (a hung dependency) is shared by the next requests rather than repeated, so
  // a load balancer polling /ready cannot pile up connections on a database that does not answer.
  const inFlight = new Map<string, Promise<unknown>>();
  const probe = (name: string): Check => () => {
    let running = inFlight.get(name);
    if (!running) {
      running = (checks[name] as Check)().finally(() => inFlight.delete(name));
      inFlight.set(name, running);
    }
    return running;
  };
  return async (_req: Request, res: Response) => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => within(READINESS_BUDGET_MS, probe(name))));
    const down = names.filter((_, i) => !results[i]);
    const status = Object.fromEntries(names.map((name, i) => [name, results[i] ? 'up' : 'down']));
    res.status(down.length === 0 ? 200 : 503).json({ status: down.length === 0 ? 'ready' : 'not_ready', down, checks: status });
  };
}
