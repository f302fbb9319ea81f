/**
 * A dependency going away under a running API: Postgres or the Temporal server, each reached
 * through a TCP proxy the test cuts and restores. Clients get 503 with Retry-After in the envelope
 * (never a 500), /ready answers within a second naming what is down, and the API reconnects on
 * its own when the dependency is back.
 */
import { randomUUID } from 'node:crypto';
import type { Application } from '../../stack/application';
import { createKey, customerWithAccount, eventually, httpClient, startTestApplication, testDatabaseUrl, testTemporalAddress, type HttpClient } from '../support/harness';
import { hostPort, startTcpProxy, viaProxy, type TcpProxy } from '../support/tcp-proxy';
import { balancesOf, expectErrorEnvelope, postTransfer } from './helpers';

let app: Application & { url: string };
let client: HttpClient;
let pgProxy: TcpProxy;
let temporalProxy: TcpProxy;

beforeAll(async () => {
  pgProxy = await startTcpProxy(hostPort(testDatabaseUrl()));
  temporalProxy = await startTcpProxy(hostPort(testTemporalAddress()));
  app = await startTestApplication({ databaseUrl: viaProxy(testDatabaseUrl(), pgProxy), temporalAddress: temporalProxy.address });
  client = httpClient(app.url, await createKey(app.db, 'admin'));
});

afterAll(async () => {
  await pgProxy?.restore();
  await temporalProxy?.restore();
  await app?.stop();
  await pgProxy?.close();
  await temporalProxy?.close();
});

async function timedReady(): Promise<{ ms: number; status: number; body: any }> {
  const started = performance.now();
  const res = await fetch(`${app.url}/ready`);
  return { ms: performance.now() - started, status: res.status, body: await res.json() };
}

test('Postgres down: 503 with Retry-After in the envelope, /ready names it within a second, and the API recovers', async () => {
  const ready = await timedReady();
  expect(ready.status).toBe(200);

  await pgProxy.cut();
  try {
    const res = await client.get('/v1/compliance/rules');
    expectErrorEnvelope(res, 503, 'service_unavailable');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.retry_after_seconds).toBe(5);
    expect(res.body.errors[0].message).toMatch(/database is unavailable.*same Idempotency-Key/);

    const down = await timedReady();
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: 'not_ready', down: ['postgres'], checks: { postgres: 'down', temporal: 'up' } });
    expect(down.ms).toBeLessThan(1000);
  } finally {
    await pgProxy.restore();
  }
  // The pool opens new connections: no restart of the API needed.
  await eventually(async () => (await client.get('/v1/compliance/rules')).status, 200, 15_000);
  expect((await timedReady()).status).toBe(200);
});

test('Temporal down: /ready names it within a second; a new transfer answers 503 with Retry-After and completes on retry once it is back', async () => {
  const a = await customerWithAccount(client, { currency: 'USD', deposit: '50.00' });
  const b = await customerWithAccount(client, { currency: 'USD' });
  const key = randomUUID();
  const body = { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '5.00', reference: 'during an outage' };

  await temporalProxy.cut();
  try {
    const down = await timedReady();
    expect(down.status).toBe(503);
    expect(down.body.down).toEqual(['temporal']);
    expect(down.ms).toBeLessThan(1000);

    const res = await postTransfer(client, body, key);
    expectErrorEnvelope(res, 503, 'service_unavailable');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.retry_after_seconds).toBe(5);
  } finally {
    await temporalProxy.restore();
  }
  await eventually(async () => (await timedReady()).status, 200);
  // The same key: the transfer recorded before the outage is the one that completes, once.
  const retried = await postTransfer(client, body, key);
  expect([201, 202]).toContain(retried.status);
  await eventually(async () => (await client.get(`/v1/transfers/${retried.body.id}`)).body.status, 'completed');
  expect((await balancesOf(client, a.accountId)).posted).toBe('45.00');
});
