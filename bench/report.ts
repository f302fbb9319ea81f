/** The benchmark's figures and the targets' ratios, as Markdown tables (pasteable into docs/speed.md). */
import type { CrashResult } from './crash';
import type { EngineResult } from './engine';
import type { MovementResult } from './http';
import type { LedgerResult } from './ledger';

/** What one engine's stack measured. */
export type EngineRun = {
  engine: EngineResult;
  sameCurrency: MovementResult;
  /** Same-currency transfers whose customers have a webhook endpoint; `delivered`: what the receiver got. */
  webhooks?: MovementResult & { delivered?: number };
  fx?: MovementResult;
  payouts?: MovementResult;
  ledger?: LedgerResult;
  crash?: CrashResult;
};

export type BenchResults = {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  load: { concurrency: number; sequential: number; total: number };
  startedAt: string;
  finishedAt?: string;
  file?: EngineRun;
  memory?: EngineRun;
  /** TEMPORAL_ENGINE=server: the Temporal server itself on PostgreSQL. */
  server?: EngineRun;
};

const ms = (v: number) => `${v.toFixed(0)} ms`;
const perSecond = (v: number) => `${v.toFixed(1)}/s`;
const times = (v: number) => `${v.toFixed(2)} ×`;
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function renderReport(r: BenchResults): string {
  const c = r.load.concurrency;
  const lines: string[] = [
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}. ` +
      `${r.load.sequential} one at a time (p50), ${r.load.total} at ${c} concurrent (completed/s).`,
    '',
    `| engine | workload | p50 one at a time | completed/s at ${c} | answered 201 |`,
    '|---|---|---|---|---|',
  ];
  for (const [engine, run] of [['file', r.file], ['memory', r.memory], ['server', r.server]] as const) {
    if (!run) continue;
    const row = (name: string, m: { p50Ms: number; perSecond: number }, answered?: number) =>
      lines.push(`| ${engine} | ${name} | ${ms(m.p50Ms)} | ${perSecond(m.perSecond)} | ${answered === undefined ? '' : pct(answered)} |`);
    row('workflow, one no-op activity', run.engine.oneActivity);
    row('workflow, one no-op local activity', run.engine.oneLocalActivity);
    row('`POST /v1/transfers`, same currency', run.sameCurrency, run.sameCurrency.answered201);
    if (run.webhooks) row('`POST /v1/transfers`, same currency, customer with a webhook endpoint', run.webhooks, run.webhooks.answered201);
    if (run.fx) row('`POST /v1/transfers`, FX with fees', run.fx, run.fx.answered201);
    if (run.payouts) row('`POST /v1/payouts`, rail latency 0', run.payouts, run.payouts.answered201);
  }
  if (r.file && r.server) {
    const f = r.file;
    const sv = r.server;
    lines.push(
      '',
      'The Temporal server on PostgreSQL against the dev server on its SQLite file, side by side in this run:',
      '',
      '| workload | server ÷ file, completed/s | server ÷ file, p50 |',
      '|---|---|---|',
      `| workflow, one no-op activity | ${times(sv.engine.oneActivity.perSecond / f.engine.oneActivity.perSecond)} | ${times(sv.engine.oneActivity.p50Ms / f.engine.oneActivity.p50Ms)} |`,
      `| \`POST /v1/transfers\`, same currency | ${times(sv.sameCurrency.perSecond / f.sameCurrency.perSecond)} | ${times(sv.sameCurrency.p50Ms / f.sameCurrency.p50Ms)} |`,
      ...(sv.fx && f.fx ? [`| \`POST /v1/transfers\`, FX with fees | ${times(sv.fx.perSecond / f.fx.perSecond)} | ${times(sv.fx.p50Ms / f.fx.p50Ms)} |`] : []),
      ...(sv.payouts && f.payouts ? [`| \`POST /v1/payouts\` | ${times(sv.payouts.perSecond / f.payouts.perSecond)} | ${times(sv.payouts.p50Ms / f.payouts.p50Ms)} |`] : []),
    );
    if (sv.crash) {
      const k = sv.crash;
      lines.push('', `Crash on the server engine: ready again ${k.restartSeconds.toFixed(1)} s after SIGKILL, every transfer terminal ${k.recoverySeconds.toFixed(1)} s after /ready; lost ${k.lost}, doubled ${k.doubled}.`);
    }
  }
  if (r.file?.webhooks) {
    const w = r.file.webhooks;
    lines.push(
      '',
      `Webhooks: transfers of customers with an endpoint ran at ${times(w.perSecond / r.file.sameCurrency.perSecond)} the rate of those without ` +
        `(p50 ${times(w.p50Ms / r.file.sameCurrency.p50Ms)}); the receiver got ${w.delivered ?? 0} deliveries for ${w.completed + w.samples + Math.min(5, w.samples)} completed transfers.`,
    );
  }
  if (r.file?.ledger) {
    const l = r.file.ledger;
    lines.push('', `Ledger alone (at ${c} concurrent): ${l.postingsPerSecond.toFixed(0)} postings/s, ${l.insertsPerSecond.toFixed(0)} single-row INSERT transactions/s.`);
  }
  if (r.file?.crash) {
    const k = r.file.crash;
    lines.push(
      '',
      `Crash: ${k.transfers} transfers at ${c} concurrent, npm start SIGKILLed with ${k.inFlightAtKill} in flight; ready again ${k.restartSeconds.toFixed(1)} s later; ` +
        `every transfer terminal ${k.recoverySeconds.toFixed(1)} s after /ready; lost ${k.lost}, doubled ${k.doubled}, balance mismatches ${k.balanceMismatches}, ledger invariant violations ${k.invariantViolations}.`,
    );
  }
  lines.push('', '| target | measured | target | met |', '|---|---|---|---|');
  for (const t of targets(r)) lines.push(`| ${t.name} | ${t.measured} | ${t.target} | ${t.met ? 'yes' : '**no**'} |`);
  return lines.join('\n') + '\n';
}

export type Target = { name: string; measured: string; target: string; met: boolean };

/** Issue #7's targets, each a ratio measured side by side in this run. */
export function targets(r: BenchResults): Target[] {
  const out: Target[] = [];
  const f = r.file;
  if (f) {
    const rate = f.sameCurrency.perSecond / f.engine.oneActivity.perSecond;
    out.push({ name: 'same-currency transfers/s ÷ one-activity workflows/s (file)', measured: times(rate), target: '≥ 1.00 ×', met: rate >= 1 });
    const p50 = f.sameCurrency.p50Ms / f.engine.oneActivity.p50Ms;
    out.push({ name: 'transfer p50 ÷ one-activity workflow p50 (file)', measured: times(p50), target: '≤ 1.00 ×', met: p50 <= 1 });
    out.push({ name: `transfers answered 201 at ${r.load.concurrency} concurrent`, measured: pct(f.sameCurrency.answered201), target: '≥ 99%', met: f.sameCurrency.answered201 >= 0.99 });
    if (f.fx) {
      const fx = f.fx.perSecond / f.sameCurrency.perSecond;
      out.push({ name: 'FX transfers/s ÷ same-currency transfers/s', measured: times(fx), target: '≥ 0.50 ×', met: fx >= 0.5 });
    }
    if (f.ledger) out.push({ name: 'ledger postings/s ÷ single-row INSERT transactions/s', measured: times(f.ledger.ratio), target: '≥ 0.50 ×', met: f.ledger.ratio >= 0.5 });
    if (f.crash) {
      const k = f.crash;
      out.push({
        name: 'after SIGKILL mid-load: every in-flight transfer terminal after /ready',
        measured: `${k.recoverySeconds.toFixed(1)} s, lost ${k.lost}, doubled ${k.doubled}`,
        target: '≤ 5 s, none lost or doubled',
        met: k.recoverySeconds <= 5 && k.lost === 0 && k.doubled === 0 && k.balanceMismatches === 0 && k.invariantViolations === 0,
      });
    }
  }
  const m = r.memory;
  if (m) {
    const rate = m.sameCurrency.perSecond / m.engine.oneActivity.perSecond;
    out.push({ name: 'same-currency transfers/s ÷ one-activity workflows/s (memory)', measured: times(rate), target: '≥ 0.60 ×', met: rate >= 0.6 });
  }
  return out;
}
