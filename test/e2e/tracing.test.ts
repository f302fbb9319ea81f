/**
 * Traces (src/observability/tracing.ts): one POST /v1/transfers gives one connected trace, from the
 * HTTP server span through the Temporal client call, the workflow and its (local) activities down to
 * the SQL, and the request's log line carries the trace id, the transfer id and the workflow id.
 *
 * The spans go to an in-memory exporter instead of OTLP. Jest loads node_modules through its own
 * module registry, which the instrumentations' require hooks never see, so the modules already
 * loaded here (express, pg) are patched by hand with the instrumentations' own patch functions:
 * the same code that patches them in a real process, run explicitly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SpanKind } from '@opentelemetry/api';
import type { Instrumentation, InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { Application } from '../../stack/application';
import { startTracing, temporalWorkerTracing, traceLogFields, WORKFLOW_TRACING_INTERCEPTORS_MODULE } from '../../src/observability/tracing';
import { WORKFLOWS_PATH } from '../../worker/temporal-worker';
import { createKey, customerWithAccount, httpClient, startTestApplication, type HttpClient } from '../support/harness';
import { postTransfer, settled } from './helpers';

const exporter = new InMemorySpanExporter();
const logLines: Array<Record<string, unknown>> = [];
const logStream = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let tracing: ReturnType<typeof startTracing>;
let app: Application & { url: string };
let tracedBundle: { code: string };
let admin: HttpClient;

/** Patches, with each instrumentation's own patch function, a module this test process had already loaded. */
function patchLoaded(instrumentations: Instrumentation[], load: (name: string) => unknown): void {
  for (const instrumentation of instrumentations) {
    const definitions = (instrumentation as unknown as { getModuleDefinitions(): InstrumentationModuleDefinition[] }).getModuleDefinitions();
    for (const definition of definitions) {
      if (definition.moduleExports || !definition.patch) continue; // patched by the require hook (core modules)
      let exports: unknown;
      let version: string;
      try {
        exports = load(definition.name);
        version = ['http', 'https'].includes(definition.name) ? process.versions.node : (load(`${definition.name}/package.json`) as { version: string }).version;
      } catch {
        continue; // not installed (e.g. pg-pool: knex pools connections itself)
      }
      definition.moduleExports = definition.patch(exports, version);
      definition.moduleVersion = version;
    }
  }
}

beforeAll(async () => {
  tracing = startTracing({ enabled: true, serviceName: 'payments-test' }, exporter);
  if (!tracing) throw new Error('tracing did not start');
  patchLoaded(tracing.instrumentations, (name) => jest.requireActual(name));
  // The shared bundle has no tracing interceptors: this one is built as a deployment with tracing on would be.
  const bundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [WORKFLOW_TRACING_INTERCEPTORS_MODULE],
    logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m), log: () => undefined },
  });
  tracedBundle = { code: bundle.code };
  app = await startTestApplication({ workflowBundle: tracedBundle, logger: pino({ level: 'info', mixin: traceLogFields }, logStream) });
  admin = httpClient(app.url, await createKey(app.db, 'admin'));
}, 180_000);

afterAll(async () => {
  await app?.stop();
  await tracing?.shutdown();
});

function only<T>(items: T[]): T {
  if (items.length !== 1 || items[0] === undefined) throw new Error(`expected exactly one, got ${items.length}`);
  return items[0];
}

const byId = (spans: ReadableSpan[]) => new Map(spans.map((s) => [s.spanContext().spanId, s]));

/** The span's ancestors' names, nearest first, as far as the exported spans go. */
function ancestry(span: ReadableSpan, spans: Map<string, ReadableSpan>): ReadableSpan[] {
  const chain: ReadableSpan[] = [];
  for (let parent = span.parentSpanId && spans.get(span.parentSpanId); parent; parent = parent.parentSpanId && spans.get(parent.parentSpanId)) chain.push(parent);
  return chain;
}

test('POST /v1/transfers: one trace from the HTTP request through the workflow and its activities to the SQL', async () => {
  const a = await customerWithAccount(admin, { currency: 'USD', deposit: '50.00' });
  const b = await customerWithAccount(admin, { currency: 'USD' });
  exporter.reset();
  logLines.length = 0;

  const res = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '12.00', reference: 'traced' });
  const transfer = await settled(admin, res);
  expect(transfer.status).toBe('completed');

  const isServer = (s: ReadableSpan) => s.kind === SpanKind.SERVER && s.attributes['http.method'] === 'POST' && s.attributes['http.target'] === '/v1/transfers';
  // Workflow spans arrive through the worker's sink when the workflow completes: wait for them.
  const deadline = Date.now() + 30_000;
  let spans = exporter.getFinishedSpans();
  while (!spans.some((s) => s.name.startsWith('RunWorkflow:')) || !spans.some(isServer)) {
    if (Date.now() > deadline) throw new Error(`no complete trace; spans: ${spans.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
    spans = exporter.getFinishedSpans();
  }

  const server = spans.filter(isServer);
  expect(server).toHaveLength(1);
  const serverSpan = only(server);
  const traceId = serverSpan.spanContext().traceId;
  const trace = spans.filter((s) => s.spanContext().traceId === traceId);
  const spansById = byId(trace);
  const descendsFromServer = (s: ReadableSpan) => ancestry(s, spansById).includes(serverSpan);

  const named = (prefix: string) => trace.filter((s) => s.name.startsWith(prefix));
  const clientStart = [...named('UpdateWithStartWorkflow:'), ...named('StartWorkflow:')];
  const workflow = named('RunWorkflow:');
  const activities = named('RunActivity:');
  const sql = trace.filter((s) => s.attributes['db.system'] === 'postgresql');
  expect(clientStart.length).toBeGreaterThanOrEqual(1);
  expect(workflow).toHaveLength(1);
  expect(activities.length).toBeGreaterThanOrEqual(1);
  expect(sql.length).toBeGreaterThanOrEqual(1);

  // Connected: each hangs, through its parents, from the request's server span.
  for (const span of [...clientStart, ...workflow, ...activities, ...sql]) expect({ span: span.name, connected: descendsFromServer(span) }).toEqual({ span: span.name, connected: true });
  const workflowSpan = only(workflow);
  expect(clientStart.some((c) => ancestry(workflowSpan, spansById).includes(c))).toBe(true);
  // The database steps are local activities: their SQL runs inside their activity spans.
  expect(activities.map((s) => s.name)).toContain('RunActivity:prepareTransfer');
  const prepare = only(activities.filter((s) => s.name === 'RunActivity:prepareTransfer'));
  expect(ancestry(prepare, spansById)).toContain(workflowSpan);
  expect(sql.some((s) => ancestry(s, spansById).includes(prepare))).toBe(true);

  // The request's log line: trace id, transfer id and workflow id.
  const requestLog = logLines.find((l) => l.msg === 'request completed' && (l.req as { url?: string } | undefined)?.url === '/v1/transfers');
  expect(requestLog).toMatchObject({ trace_id: traceId, transferId: transfer.id });
  expect(requestLog?.workflowId).toEqual(expect.any(String));
});

test('with the tracing interceptors in the workflow bundle, every recorded history still replays', async () => {
  const dir = path.resolve(__dirname, '../fixtures/histories');
  const files = fs.readdirSync(dir).flatMap((version) => fs.readdirSync(path.join(dir, version)).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, version, f)));
  expect(files.length).toBeGreaterThan(0);
  const { sinks } = temporalWorkerTracing({ prebuiltBundle: true }) ?? {};
  for (const file of files) {
    const { workflowId, history } = JSON.parse(fs.readFileSync(file, 'utf8'));
    await expect(Worker.runReplayHistory({ workflowBundle: tracedBundle, sinks, replayName: path.relative(dir, file) }, historyFromJSON(history), workflowId)).resolves.toBeUndefined();
  }
});
