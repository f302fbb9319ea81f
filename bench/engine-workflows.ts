/**
 * The engine's ceiling: workflows that do nothing but one no-op activity, or one no-op local
 * activity. A transfer should cost the engine no more than the first (docs/speed.md).
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { EngineActivities } from './engine-worker';

const remote = proxyActivities<EngineActivities>({ startToCloseTimeout: '30 seconds' });
const local = proxyLocalActivities<EngineActivities>({ startToCloseTimeout: '10 seconds' });

export async function benchOneActivity(): Promise<void> {
  await remote.noop();
}

export async function benchOneLocalActivity(): Promise<void> {
  await local.noop();
}
