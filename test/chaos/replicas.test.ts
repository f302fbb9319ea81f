/**
 * `npm run chaos -- --scenario replicas` in a small configuration: the suite's Postgres (three fresh
 * databases on it), the
 * Temporal server itself (go.temporal.io/server, built from its Go module on first use) on it,
 * two API processes and two worker processes as `npm run api` / `npm run worker` start them, 90
 * transfers through both APIs, one worker SIGKILLed mid-load and not restarted. About 30 s on 2
 * cores once the server is built (its first build takes about 2 minutes after the CLI's).
 */
import { runReplicas } from '../../chaos/replicas';
import { renderReplicasReport } from '../../chaos/report';

test('two APIs and two workers on the Temporal server: every transfer completes once when a worker is killed mid-load', async () => {
  const progress: string[] = [];
  const result = await runReplicas({ databaseUrl: process.env.TEST_DATABASE_URL, total: 90, concurrency: 6, timeLimitSeconds: 180, settleSeconds: 90, say: (line) => progress.push(line) });
  // The figures and the progress only when something failed: they are what to read first.
  if (!result.passed) console.error(`${progress.join('\n')}\n${renderReplicasReport(result)}`);
  expect(result.failures).toEqual([]);
  expect(result.engine).toMatch(/^Temporal server v1\.29\.1 on PostgreSQL$/);
  expect(result.load.submitted).toBe(90);
  expect(result.load.byApi).toEqual({ 'api-1': 45, 'api-2': 45 });
  expect(result.money?.byStatus).toEqual({ completed: 90 });
  // The worker died with workflows of its own running, and the other finished them.
  expect(result.kill?.heldRunning).toBeGreaterThan(0);
  expect(result.takeover?.handedOver).toBeGreaterThan(0);
  expect(result.checks.every((c) => c.ok)).toBe(true);
  expect(result.money?.checks.filter((c) => !c.ok)).toEqual([]);
  expect(result.leftoverPids).toEqual([]);
}, 480_000);
