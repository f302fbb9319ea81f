/**
 * The faults, each a SIGKILL, and what recovery from it is measured as: the time from the kill
 * until /ready answers 200 again, and until every movement in flight at the kill is terminal.
 *
 * - `api`: npm start's own process only (the API and the worker). Nothing inside the project can
 *   restart it, so chaos does, on the same data, as an outer supervisor (systemd) would; the new
 *   start has to deal with the orphans of the one killed.
 * - `postgres`: the embedded cluster's postmaster. npm start's supervision restarts it.
 * - `temporal`: the Temporal dev server. npm start's supervision restarts it (same port, same file).
 * - `machine`: the whole process group, and the postmaster and dev server if they live apart:
 *   as a power cut; chaos starts npm start again.
 */
import type { Stack } from '../harness/stack';
import { sleep } from '../harness/timing';
import { whenAllEnded, type Load, type MovementKind } from './clients';
import { isAlive } from '../stack/supervision/leftovers';
import { postmasterPid, sigkill, stackProcesses, temporalPids, waitGone } from '../harness/processes';

export type FaultKind = 'api' | 'postgres' | 'temporal' | 'machine';
export const FAULT_KINDS: readonly FaultKind[] = ['api', 'postgres', 'temporal', 'machine'];
export const FAULT_LABELS: Record<FaultKind, string> = {
  api: 'API + worker',
  postgres: 'Postgres',
  temporal: 'Temporal server',
  machine: 'whole machine',
};

export type FaultResult = {
  kind: FaultKind;
  label: string;
  victimPids: number[];
  /** Movements clients had started and not yet seen terminal at the kill. */
  inFlightAtKill: number;
  restartedBy: 'chaos' | 'supervision';
  /** Whether /ready was seen answering anything but 200 after the kill (supervised faults). */
  sawNotReady: boolean;
  /** Kill → /ready 200 again. */
  readySeconds: number | null;
  /** Kill → every movement in flight at the kill seen terminal by its client. */
  inFlightTerminalSeconds: number | null;
  /** The movement in flight at the kill that was seen terminal last. */
  slowest?: { kind: MovementKind; status?: string; retries: number };
  /** The process that took the victim's place (the new postmaster, dev server or npm start). */
  replacementPid?: number;
  /** Recovery did not happen within the bound (or the fault could not be made): a failure. */
  problem?: string;
  /** Chaos restarted the stack itself after a failed recovery, so the run could go on. */
  forcedRestart: boolean;
};

export type FaultContext = {
  stack: Stack;
  load: Load;
  boundMs: number;
  say: (message: string) => void;
  /** After chaos (re)started npm start: e.g. the rail's controls, lost with the rail. */
  afterRestart: () => Promise<void>;
};

/** A fault's record before it is injected (and of one never injected). */
export function faultResult(kind: FaultKind, inFlightAtKill = 0): FaultResult {
  return {
    kind,
    label: FAULT_LABELS[kind],
    victimPids: [],
    inFlightAtKill,
    restartedBy: kind === 'api' || kind === 'machine' ? 'chaos' : 'supervision',
    sawNotReady: false,
    readySeconds: null,
    inFlightTerminalSeconds: null,
    forcedRestart: false,
  };
}

export async function injectFault(kind: FaultKind, ctx: FaultContext): Promise<FaultResult> {
  const { stack, load, say } = ctx;
  const inFlight = [...load.inFlight];
  const result = faultResult(kind, inFlight.length);
  const victims = await victimsOf(kind, stack);
  result.victimPids = victims;
  if (victims.length === 0) {
    result.problem = `no ${FAULT_LABELS[kind]} process found to kill`;
    return result;
  }
  say(`fault ${result.label}: SIGKILL ${victims.join(', ')} with ${inFlight.length} movements in flight`);
  const killedAt = performance.now();
  const deadline = killedAt + ctx.boundMs;
  const seconds = (at: number) => (at - killedAt) / 1000;

  if (kind === 'api' || kind === 'machine') {
    if (kind === 'api') await stack.killMain();
    else {
      await stack.kill();
      for (const pid of victims) sigkill(pid);
    }
    await Promise.all(victims.map((pid) => waitGone(pid)));
    const restarted = await withinBound(stack.restart(), deadline);
    if (restarted.ok) {
      result.readySeconds = seconds(restarted.value.readyAt);
      result.replacementPid = stack.pid;
      await ctx.afterRestart();
    } else result.problem = `npm start was not ready again within ${ctx.boundMs / 1000} s (${restarted.reason})`;
  } else {
    for (const pid of victims) sigkill(pid);
    const replacement = async () => {
      const now = kind === 'postgres' ? [postmasterPid(stack.dataDir)] : await temporalPids(stack.dataDir);
      return now.find((pid) => pid !== undefined && !victims.includes(pid));
    };
    const ready = await readyAgain(stack.apiUrl, deadline, async () => (await replacement()) !== undefined);
    result.sawNotReady = ready.sawNotReady;
    if (ready.readyAt !== undefined) {
      result.readySeconds = seconds(ready.readyAt);
      result.replacementPid = await replacement();
      if (result.replacementPid === undefined) result.problem = `/ready answered 200, but no new ${result.label} process is running`;
    } else result.problem = `/ready did not answer 200 within ${ctx.boundMs / 1000} s of the kill`;
  }

  if (result.readySeconds === null) {
    say(`fault ${result.label}: ${result.problem}; restarting the stack to go on`);
    await forceRestart(ctx);
    result.forcedRestart = true;
  } else say(`fault ${result.label}: /ready 200 after ${result.readySeconds.toFixed(1)} s`);

  // After a forced restart the movements in flight get a bound of their own: the failure is already recorded.
  const inFlightDeadline = result.forcedRestart ? performance.now() + ctx.boundMs : deadline;
  const ended = inFlight.length === 0 ? killedAt : await whenAllEnded(inFlight, inFlightDeadline);
  if (ended === undefined) {
    result.problem ??= `${inFlight.filter((o) => o.endedAt === undefined).length} movements in flight at the kill were not terminal within ${ctx.boundMs / 1000} s`;
  } else {
    result.inFlightTerminalSeconds = Math.max(seconds(ended), 0);
    const last = inFlight.reduce<(typeof inFlight)[number] | undefined>((a, o) => (!a || (o.endedAt ?? 0) > (a.endedAt ?? 0) ? o : a), undefined);
    if (last) result.slowest = { kind: last.kind, status: last.status, retries: last.retries };
    say(`fault ${result.label}: every movement in flight at the kill terminal after ${result.inFlightTerminalSeconds.toFixed(1)} s`);
  }
  return result;
}

async function victimsOf(kind: FaultKind, stack: Stack): Promise<number[]> {
  const postmaster = postmasterPid(stack.dataDir);
  const temporal = await temporalPids(stack.dataDir);
  switch (kind) {
    case 'api':
      return [stack.pid];
    case 'postgres':
      return postmaster ? [postmaster] : [];
    case 'temporal':
      return temporal;
    case 'machine':
      return [stack.pid, ...(postmaster ? [postmaster] : []), ...temporal].filter(isAlive);
  }
}

/**
 * After a supervised fault: the first 200 from /ready once it was seen answering anything else or
 * a new process took the victim's place (a restart can be quicker than the polling), if before `deadline`.
 */
async function readyAgain(apiUrl: string, deadline: number, replaced: () => Promise<boolean>): Promise<{ sawNotReady: boolean; readyAt?: number }> {
  let sawNotReady = false;
  while (performance.now() < deadline) {
    if (!(await readyOk(apiUrl))) sawNotReady = true;
    else if (sawNotReady || (await replaced())) return { sawNotReady, readyAt: performance.now() };
    await sleep(100);
  }
  return { sawNotReady };
}

export async function readyOk(apiUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiUrl}/ready`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

type Bounded<T> = { ok: true; value: T } | { ok: false; reason: string };

async function withinBound<T>(promise: Promise<T>, deadline: number): Promise<Bounded<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Bounded<T>>((resolve) => (timer = setTimeout(() => resolve({ ok: false, reason: 'timed out' }), Math.max(0, deadline - performance.now()))));
  try {
    return await Promise.race([promise.then((value) => ({ ok: true as const, value }), (err: unknown) => ({ ok: false as const, reason: err instanceof Error ? err.message : String(err) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The stack did not recover: SIGKILL whatever is left of it (every group it ran in, and the servers) and start it again. */
export async function forceRestart(ctx: FaultContext): Promise<void> {
  await ctx.stack.kill();
  const leftovers = await stackProcesses(ctx.stack.dataDir);
  for (const pid of leftovers) sigkill(pid);
  await Promise.all(leftovers.map((pid) => waitGone(pid)));
  await ctx.stack.restart();
  await ctx.afterRestart();
}
