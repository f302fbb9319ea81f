/** The chaos run's figures as text: the load, each fault's recovery, each check, the verdict. */
import type { ChaosResult } from './chaos';

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
  if (r.money) {
    const statuses = Object.entries(r.money.byStatus)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    out.push(`Outcomes: ${statuses}`);
    out.push(`Trial balance: ${r.money.trialBalance.map((t) => `${t.currency} debits ${t.debits} credits ${t.credits} net ${t.net}`).join('; ')}`, '');
    out.push(table(['check', 'figure', 'result'], r.money.checks.map((c) => [c.name, c.figure, c.ok ? 'ok' : 'FAILED'])), '');
    for (const c of r.money.checks.filter((c) => !c.ok)) out.push(`${c.name}, e.g.: ${JSON.stringify(c.details)}`);
  }
  out.push(`Processes of the stack left running after it stopped: ${r.leftoverPids.length ? r.leftoverPids.join(', ') : 'none'}`, '');
  out.push(r.passed ? 'PASSED: every check holds and every fault recovered within the bound.' : `FAILED:\n${r.failures.map((f) => `  - ${f}`).join('\n')}`, '');
  return out.join('\n');
}
