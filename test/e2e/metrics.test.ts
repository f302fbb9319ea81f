/**
 * End to end: the Prometheus metrics of the API and worker in this process, scraped from their own
 * port (never the API's), after a completed transfer and a held one.
 */
import type { Application } from '../../stack/application';
import { awaitTransferOutcome, createKey, customerWithAccount, eventually, httpClient, startTestApplication, type HttpClient } from '../support/harness';
import { postTransfer } from './helpers';

let app: Application & { url: string };
let admin: HttpClient;
let officer: HttpClient;

beforeAll(async () => {
  app = await startTestApplication({ metrics: { host: '127.0.0.1', port: 0 } });
  admin = httpClient(app.url, await createKey(app.db, 'admin'));
  officer = httpClient(app.url, await createKey(app.db, 'compliance'));
});

afterAll(async () => {
  await app?.stop();
});

const UUID_ANYWHERE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

async function scrape(): Promise<string> {
  const res = await fetch(app.metricsUrl as string);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one series, matched by name and labels (any order); undefined when absent. */
function valueOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const seen = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => seen[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('GET /metrics on the metrics port: route patterns, outcomes, held items, postings, no ids; not on the API port', async () => {
  expect(app.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  const a = await customerWithAccount(admin, { currency: 'USD', deposit: '20000.00' });
  const b = await customerWithAccount(admin, { currency: 'USD' });

  const done = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '10.00', reference: 'metrics e2e' });
  expect(done.status).toBe(201);
  expect((await awaitTransferOutcome(admin, done.body.id)).body).toMatchObject({ status: 'completed', response_code: '1' });
  const held = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '12000.00', reference: 'metrics e2e large' });
  expect({ status: held.status, transfer: held.body?.status, code: held.body?.response_code }).toEqual({ status: 201, transfer: 'held', code: '12' });
  expect((await admin.get(`/v1/transfers/${done.body.id}`)).status).toBe(200);
  expect((await admin.get('/v1/no-such-route')).status).toBe(404);
  // An error thrown by a route's handler still counts under the route's pattern, not `unmatched`.
  expect((await admin.get('/v1/transfers/00000000-0000-4000-8000-000000000000')).status).toBe(404);

  const text = await scrape();
  expect(text).not.toMatch(UUID_ANYWHERE);
  expect(valueOf(text, 'payments_http_request_duration_seconds_count', { method: 'POST', route: '/v1/transfers', status: '201' })).toBeGreaterThanOrEqual(2);
  expect(valueOf(text, 'payments_http_request_duration_seconds_count', { method: 'GET', route: '/v1/transfers/:id', status: '200' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_http_request_duration_seconds_count', { method: 'GET', route: '/v1/transfers/:id', status: '404' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_movement_outcomes_total', { kind: 'transfer', status: 'completed', response_code: '1' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_movement_outcomes_total', { kind: 'transfer', status: 'held', response_code: '12' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_held_pending', { kind: 'transfer' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_held_oldest_age_seconds', { kind: 'transfer' })).toBeGreaterThanOrEqual(0);
  expect(valueOf(text, 'payments_ledger_postings_total', { kind: 'transfer' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_ledger_postings_total', { kind: 'deposit' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_ledger_entries_total', { kind: 'transfer', currency: 'USD' })).toBeGreaterThanOrEqual(2);
  expect(valueOf(text, 'payments_compliance_screenings_total', { subject: 'transfer', outcome: 'approve' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'payments_compliance_screenings_total', { subject: 'transfer', outcome: 'hold' })).toBeGreaterThanOrEqual(1);

  // The held one is rejected (and leaves the queue for the other suites): a decision, and a 651 outcome.
  expect((await officer.post(`/v1/transfers/${held.body.id}/reject`, { reason: 'metrics test' })).status).toBeLessThan(300);
  await eventually(async () => (await admin.get(`/v1/transfers/${held.body.id}`)).body.status, 'declined');
  await eventually(async () => (valueOf(await scrape(), 'payments_compliance_decisions_total', { subject: 'transfer', decision: 'reject' }) ?? 0) >= 1, true);
  expect(valueOf(await scrape(), 'payments_movement_outcomes_total', { kind: 'transfer', status: 'declined', response_code: '651' })).toBeGreaterThanOrEqual(1);

  // Only /metrics on the metrics port, and no /metrics on the public API.
  expect((await fetch(app.metricsUrl!.replace(/\/metrics$/, '/other'))).status).toBe(404);
  const onApi = await fetch(`${app.url}/metrics`);
  expect(onApi.status).toBe(404);
  expect(await onApi.text()).not.toMatch(/payments_/);
});
