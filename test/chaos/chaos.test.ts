/**
 * `npm run chaos` in a small configuration: its own `npm start` stack in a temporary folder
 * (independent of the suite's Postgres and Temporal), 40 transfers, FX transfers and payouts from
 * 4 clients, and one fault of each kind in turn (the API and worker, Postgres, the Temporal server,
 * the whole machine); then every check on the money (chaos/checks.ts). About 80 s on 2 cores.
 */
import { runChaos } from '../../chaos/chaos';
import { FAULT_KINDS } from '../../chaos/faults';
import { renderChaosReport } from '../../chaos/report';

test('transfers and payouts come through every fault: all terminal, none lost or doubled, the ledger balanced', async () => {
  const progress: string[] = [];
  const result = await runChaos({
    total: 40,
    concurrency: 4,
    faults: [...FAULT_KINDS],
    timeLimitSeconds: 150,
    recoveryBoundSeconds: 60,
    settleSeconds: 60,
    say: (line) => progress.push(line),
  });
  // The figures and the progress only when something failed: they are what to read first.
  if (!result.passed) console.error(`${progress.join('\n')}\n${renderChaosReport(result)}`);
  expect(result.failures).toEqual([]);
  expect(result.faults.map((f) => [f.kind, f.problem ?? 'recovered'])).toEqual(FAULT_KINDS.map((k) => [k, 'recovered']));
  expect(result.load.submitted).toBe(40);
  expect(result.money?.checks.filter((c) => !c.ok)).toEqual([]);
  expect(result.money?.checks.length).toBeGreaterThanOrEqual(10);
}, 240_000);
