/** The chaos run's figures as text: the load, each fault's recovery, each check, the verdict. */
import type { ChaosResult } from './chaos';
import type { Check, MoneyFigures } from './checks';
import type { ReplicasResult } from './replicas';

const s = (x: number | null) => (x === null ? '—' : `${x.toFixed(1)} s`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderChaosReport(r: ChaosResult): string {
  const out: string[] = [];
  const kinds = Object.entries(r.load.byKind)
    .map(([k, n]) => `${n} ${k.replace('_', ' ')}s`)
    .join(', ');
  const retries = Object.entries(r.load.retries)
    .map(([cause, n]) => `${n} × ${cause}`)
    .join(', ');
  out.push(
    '',
    `Chaos: ${r.load.submitted} movements (${kinds || 'none'}) at ${r.options.concurrency} concurrent in ${r.load.seconds.toFixed(1)} s, ` +
      `${r.faults.length} faults; ${r.machine.cpus} cores, node ${r.machine.node}`,
    `Client retries (same Idempotency-Key): ${retries || 'none'}`,
    '',
    table(
      ['fault', 'killed', 'in flight', '/ready 200 after', 'in flight terminal after', 'last to end', 'restarted by', 'result'],
      r.faults.map((f) => [
        f.label,
        f.victimPids.join(',') || '—',
        String(f.inFlightAtKill),
        s(f.readySeconds),
        s(f.inFlightTerminalSeconds),
        f.slowest ? `${f.slowest.kind.replace('_', ' ')} (${f.slowest.status ?? 'no answer'}, ${f.slowest.retries} retries)` : '—',
        f.forcedRestart ? 'chaos (forced)' : f.restartedBy,
        f.problem ? `FAILED: ${f.problem}` : 'ok',
      ]),
    ),
    '',
  );
  if (r.money) out.push(...renderMoney(r.money));
  out.push(`Processes of the stack left running after it stopped: ${r.leftoverPids.length ? r.leftoverPids.join(', ') : 'none'}`, '');
  out.push(r.passed ? 'PASSED: every check holds and every fault recovered within the bound.' : `FAILED:\n${r.failures.map((f) => `  - ${f}`).join('\n')}`, '');
  return out.join('\n');
}

/** The outcomes, the trial balance and each money check, with examples of any that failed. */
function renderMoney(money: MoneyFigures, extra: Check[] = []): string[] {
  const statuses = Object.entries(money.byStatus)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const checks = [...extra, ...money.checks];
  const out = [
    `Outcomes: ${statuses}`,
    `Trial balance: ${money.trialBalance.map((t) => `${t.currency} debits ${t.debits} credits ${t.credits} net ${t.net}`).join('; ')}`,
    '',
    table(['check', 'figure', 'result'], checks.map((c) => [c.name, c.figure, c.ok ? 'ok' : 'FAILED'])),
    '',
  ];
  for (const c of checks.filter((c) => !c.ok)) out.push(`${c.name}, e.g.: ${JSON.stringify(c.details)}`);
  return out;
}

export function renderReplicasReport(r: ReplicasResult): string {
  const out: string[] = [''];
  const retries = Object.entries(r.load.retries)
    .map(([cause, n]) => `${n} × ${cause}`)
    .join(', ');
  out.push(
    `Replicas: ${r.load.submitted} transfers (${Object.entries(r.load.byKind).map(([k, n]) => `${n} ${k.replace('_', ' ')}s`).join(', ') || 'none'}) ` +
      `at ${r.options.concurrency} concurrent in ${r.load.seconds.toFixed(1)} s; ${r.engine}; 2 API + 2 worker processes; ${r.machine.cpus} cores, node ${r.machine.node}`,
    `Through: ${Object.entries(r.load.byApi).map(([api, n]) => `${api} ${n}`).join(', ') || '—'}; client retries (same Idempotency-Key): ${retries || 'none'}`,
  );
  if (r.kill) {
    out.push(
      `Killed ${r.kill.worker} (pid ${r.kill.pid}, SIGKILL, not restarted) after ${r.kill.atSubmitted} submitted, with ${r.kill.inFlight} in flight and ${r.kill.heldRunning} of its workflows running; ` +
        `every one in flight ended ${s(r.kill.inFlightEndedSeconds)} after the kill`,
    );
  }
  if (r.takeover) out.push(`Workflows each worker ran tasks of: ${Object.entries(r.takeover.workflowsByWorker).map(([id, n]) => `${id} ${n}`).join(', ')}; handed over to the survivor: ${r.takeover.handedOver}`);
  out.push('');
  if (r.money) out.push(...renderMoney(r.money, r.checks));
  out.push(`Processes left running after the run stopped: ${r.leftoverPids.length ? r.leftoverPids.join(', ') : 'none'}`, '');
  out.push(r.passed ? 'PASSED: every transfer completed once, through both APIs, with one worker killed.' : `FAILED:\n${r.failures.map((f) => `  - ${f}`).join('\n')}`, '');
  return out.join('\n');
}
