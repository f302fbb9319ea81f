/**
 * `npm run bench`: the service's speed against the engine's ceiling, side by side in one run.
 *
 *   npm run bench -- [--concurrency 30] [--sequential 40] [--total 300] [--engine file,memory,server]
 *                    [--skip crash,ledger,payouts,fx,webhooks] [--out bench-results.json]
 *
 * Engines: `file`, the stack as `npm start` runs it (embedded Postgres, the Temporal dev server on
 * its SQLite file); `memory`, the dev server in memory; `server`, `TEMPORAL_ENGINE=server npm start`
 * (the Temporal server itself, its state in the embedded Postgres). Each stack in a temporary folder, or uses BENCH_API_URL + ADMIN_API_KEY (and TEMPORAL_ADDRESS)
 * for a stack that is already running; TEMPORAL_ADDRESS and DATABASE_URL are passed to the stack
 * it starts. Prints progress on stderr, a table of figures and ratios on stdout, and writes JSON.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureTemporalCli } from '../stack/temporal/cli';
import { startDevServer } from '../stack/temporal/dev-server';
import { freePort } from '../stack/net';
import { apiClient, fxFixtures, payoutFixtures, sameCurrencyFixtures, webhookFixtures } from '../harness/api';
import { startWebhookReceiver } from './webhook-receiver';
import { measureCrashRecovery } from './crash';
import { measureEngine } from './engine';
import { measureMovements } from './http';
import { measureLedger } from './ledger';
import { say } from '../harness/timing';
import { renderReport, type BenchResults, type EngineRun } from './report';
import { startStack, type Stack } from '../harness/stack';

const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '30' },
    sequential: { type: 'string', default: '40' },
    total: { type: 'string', default: '300' },
    engine: { type: 'string', default: 'file,memory,server' },
    skip: { type: 'string', default: '' },
    'crash-total': { type: 'string', default: '600' },
    'ledger-seconds': { type: 'string', default: '5' },
    out: { type: 'string', default: 'bench-results.json' },
    /** Keep the temporary data folders (the stacks' logs are in <folder>/<engine>/stack.log). */
    keep: { type: 'boolean', default: false },
  },
});

const load = { concurrency: Number(args.concurrency), sequential: Number(args.sequential), total: Number(args.total) };
const skip = new Set((args.skip ?? '').split(',').filter(Boolean));
const engines = new Set((args.engine ?? '').split(',').filter(Boolean));

async function main(): Promise<void> {
  const results: BenchResults = { machine: machine(), load, startedAt: new Date().toISOString() };
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-bench-'));
  fs.chmodSync(workDir, 0o755);
  try {
    if (engines.has('file')) results.file = await onStack('file', workDir, {});
    if (engines.has('server') && !process.env.TEMPORAL_ADDRESS && !process.env.BENCH_API_URL) results.server = await onStack('server', workDir, { TEMPORAL_ENGINE: 'server' });
    if (engines.has('memory') && !process.env.TEMPORAL_ADDRESS && !process.env.BENCH_API_URL) {
      // The same comparison with the dev server's state in memory: the SQLite file no longer caps the
      // engine, so what is left of a transfer's cost is the project's own.
      const server = await startDevServer({ cliPath: await ensureTemporalCli(), port: await freePort(), namespace: 'default' });
      try {
        results.memory = await onStack('memory', workDir, { TEMPORAL_ADDRESS: server.address }, { memory: true });
      } finally {
        await server.stop();
      }
    }
  } finally {
    if (args.keep) say(`data and logs kept in ${workDir}`);
    else fs.rmSync(workDir, { recursive: true, force: true });
  }
  results.finishedAt = new Date().toISOString();
  fs.writeFileSync(args.out as string, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(renderReport(results));
  say(`results written to ${path.resolve(args.out as string)}`);
}

const ENGINE_LABELS = {
  file: 'engine: dev server on its SQLite file (as npm start runs it)',
  memory: 'engine: dev server in memory',
  server: 'engine: the Temporal server on PostgreSQL (TEMPORAL_ENGINE=server npm start)',
} as const;

async function onStack(label: keyof typeof ENGINE_LABELS, workDir: string, env: Record<string, string>, opts: { memory?: boolean } = {}): Promise<EngineRun> {
  say(`— ${ENGINE_LABELS[label]} —`);
  const external = process.env.BENCH_API_URL;
  const stack: Stack | undefined = external ? undefined : await startStack({ dataDir: path.join(workDir, label), env });
  const apiUrl = external ?? (stack as Stack).apiUrl;
  const adminKey = external ? requiredEnv('ADMIN_API_KEY') : (stack as Stack).adminKey;
  const temporalAddress = external ? requiredEnv('TEMPORAL_ADDRESS') : (stack as Stack).temporalAddress;
  const api = apiClient(apiUrl, adminKey, load.concurrency + 4);
  try {
    const engine = await measureEngine(`${label}:`, temporalAddress, load);
    const run: EngineRun = { engine, sameCurrency: await measureMovements(`${label}: same-currency transfers`, api, await sameCurrencyFixtures(api, load.concurrency), load) };
    if (opts.memory) return run;
    if (!skip.has('webhooks') && stack && label === 'file') {
      // The same transfers, each source customer with a webhook endpoint: what the outbox and the deliveries cost.
      const receiver = await startWebhookReceiver();
      try {
        run.webhooks = await measureMovements(`${label}: same-currency transfers, webhook endpoint`, api, await webhookFixtures(api, load.concurrency, receiver.url), load);
        const deadline = Date.now() + 30_000;
        const expected = run.webhooks.completed + load.sequential + Math.min(5, load.sequential);
        while (receiver.received() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        run.webhooks.delivered = receiver.received();
      } finally {
        await receiver.close();
      }
    }
    if (!skip.has('fx')) run.fx = await measureMovements(`${label}: FX transfers with fees`, api, await fxFixtures(api, load.concurrency), load);
    if (!skip.has('payouts') && stack) run.payouts = await measureMovements(`${label}: payouts`, api, await payoutFixtures(api, stack.railUrl, load.concurrency), load);
    // The ledger alone does not depend on the engine: measured once, on the file stack.
    if (!skip.has('ledger') && stack && label === 'file') run.ledger = await measureLedger(await stack.databaseUrl(), { concurrency: load.concurrency, seconds: Number(args['ledger-seconds']) });
    if (!skip.has('crash') && stack) {
      run.crash = await measureCrashRecovery(stack, { total: Number(args['crash-total']), concurrency: load.concurrency, killAfterMs: 4000 });
    }
    return run;
  } finally {
    await api.close();
    await stack?.stop();
  }
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required with BENCH_API_URL`);
  return value;
}

function machine() {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` };
}

// Ctrl-C: exit through process 'exit', which stops the stacks (bench/stack.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
