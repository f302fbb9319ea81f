/**
 * Webhooks over HTTP on the real stack (Postgres, Temporal, the worker and the API in this
 * process), to a receiver in its own process (test/support/webhook-receiver.ts). Deliveries retry
 * on a short schedule here (0.5 s, doubling to 1 s, for a 4 s window) so that a whole retry window
 * fits in a test; verification uses the `standardwebhooks` library a receiver would use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { Db } from '../../src/db/knex';
import { freePort } from '../../stack/net';
import { webhookDeliveries } from '../../src/observability/metrics';
import { createKey, customerWithAccount, httpClient, openTestDb, startTestApplication, testRail, type HttpClient } from '../support/harness';
import { allPages, deposit, expectErrorEnvelope, postTransfer, settled } from './helpers';

let db: Db;
let app: Awaited<ReturnType<typeof startTestApplication>>;
let admin: HttpClient;
let receiver: ChildProcess;
let receiverUrl: string;

type Received = { headers: Record<string, string>; body: string };

beforeAll(async () => {
  db = openTestDb();
  app = await startTestApplication({
    webhooks: { timeoutMs: 2_000, retry: { initialSeconds: 0.5, maxIntervalSeconds: 1, windowSeconds: 4 }, dispatchIntervalMs: 50, urlPolicy: { production: false } },
  });
  admin = httpClient(app.url, await createKey(db, 'admin'));
  receiver = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/webhook-receiver.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    receiver.once('exit', (code) => reject(new Error(`the receiver exited (${code})`)));
    receiver.stdout?.on('data', (chunk: Buffer) => {
      const m = /listening (\d+)/.exec(chunk.toString());
      if (m) resolve(Number(m[1]));
    });
  });
  receiverUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  receiver?.kill('SIGTERM');
  await app?.stop();
  await db?.destroy();
});

/** A customer with a funded USD account, a second account, and a client key of its own. */
async function customer(name: string) {
  const { customerId, accountId } = await customerWithAccount(admin, { deposit: '1000.00', name });
  const other = await admin.post('/v1/accounts', { customer_id: customerId, currency: 'USD' });
  const client = httpClient(app.url, await createKey(db, 'client', customerId));
  return { customerId, accountId, otherAccountId: other.body.id as string, client };
}

async function register(client: HttpClient, hook: string, body: Record<string, unknown> = {}) {
  const res = await client.post('/v1/webhook-endpoints', { url: `${receiverUrl}/hooks/${hook}`, ...body });
  expect(res.status).toBe(201);
  expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  return res.body as { id: string; secret: string };
}

async function received(hook: string): Promise<Received[]> {
  return (await fetch(`${receiverUrl}/received/${hook}`)).json() as Promise<Received[]>;
}

/** Waits until the receiver has `count` deliveries for `hook` whose event matches `match`. */
async function receivedMatching(hook: string, match: (event: any) => boolean, count = 1, timeoutMs = 20_000): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = (await received(hook)).filter((r) => match(JSON.parse(r.body)));
    if (got.length >= count || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The events received about one resource, in the order of their created_at (deliveries may arrive in any order). */
async function eventsInOrder(hook: string, resourceId: string, count: number): Promise<any[]> {
  const got = await receivedMatching(hook, (e) => e.data?.id === resourceId, count);
  return got.map((r) => JSON.parse(r.body)).sort((a, b) => a.created_at.localeCompare(b.created_at));
}

async function transfer(client: HttpClient, from: string, to: string, amount = '10.00') {
  return settled(client, await postTransfer(client, { source_account_id: from, destination_account_id: to, source_amount: amount, reference: 'webhook test' }));
}

const forTransfer = (id: string, type: string) => (event: any) => event.type === type && event.data?.id === id;

test("a transfer's events arrive signed, verify with a Standard Webhooks library, and carry the transfer as the customer's GET shows it", async () => {
  const ada = await customer('Ada');
  const endpoint = await register(ada.client, 'ada');
  const done = await transfer(ada.client, ada.accountId, ada.otherAccountId);
  expect(done.status).toBe('completed');

  const [delivery] = await receivedMatching('ada', forTransfer(done.id, 'transfer.completed'));
  expect(delivery).toBeDefined();
  const { headers, body } = delivery as Received;
  // Verified as a receiver would: the library checks the HMAC and that the timestamp is recent.
  const event = new Webhook(endpoint.secret).verify(body, headers) as any;
  expect(event).toMatchObject({ type: 'transfer.completed', id: headers['webhook-id'] });
  expect(headers['content-type']).toBe('application/json');
  // The resource as GET /v1/transfers/:id shows it to this customer's key.
  const shown = await ada.client.get(`/v1/transfers/${done.id}`);
  expect(event.data).toEqual(JSON.parse(JSON.stringify(shown.body)));
  // A tampered body does not verify.
  expect(() => new Webhook(endpoint.secret).verify(body.replace('completed', 'declined'), headers)).toThrow();

  // The event is listed, and its delivery recorded as succeeded.
  const listed = await ada.client.get(`/v1/events/${event.id}`);
  expect(listed.status).toBe(200);
  expect(listed.body).toMatchObject({ id: event.id, type: 'transfer.completed', data: { id: done.id } });
  const deliveries = await ada.client.get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`);
  expect(deliveries.body.data.filter((d: any) => d.event_id === event.id).map((d: any) => [d.attempt, d.outcome, d.response_status])).toEqual([[1, 'succeeded', 204]]);

  // Redelivered on request: the same event id and body, a new delivery.
  const redelivery = await ada.client.post(`/v1/events/${event.id}/redeliver`, {});
  expect(redelivery.status).toBe(202);
  expect(redelivery.body.deliveries.map((d: any) => d.endpoint_id)).toEqual([endpoint.id]);
  const twice = await receivedMatching('ada', forTransfer(done.id, 'transfer.completed'), 2);
  expect(twice.map((r) => r.headers['webhook-id'])).toEqual([event.id, event.id]);
  expect(twice[1]?.body).toBe(body);
});

test('a receiver that fails three times then recovers gets the event on the fourth attempt, and every attempt is listed', async () => {
  const bea = await customer('Bea');
  const endpoint = await register(bea.client, 'bea', { event_types: ['transfer.completed'] });
  await fetch(`${receiverUrl}/fail/bea`, { method: 'PUT', body: JSON.stringify({ count: 3 }) });
  const done = await transfer(bea.client, bea.accountId, bea.otherAccountId);

  const got = await receivedMatching('bea', forTransfer(done.id, 'transfer.completed'));
  expect(got).toHaveLength(1);
  const eventId = (got[0] as Received).headers['webhook-id'];
  const deliveries = await bea.client.get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`);
  const attempts = (deliveries.body.data as any[]).filter((d) => d.event_id === eventId).reverse();
  expect(attempts.map((d) => [d.attempt, d.outcome, d.response_status])).toEqual([
    [1, 'failed', 503],
    [2, 'failed', 503],
    [3, 'failed', 503],
    [4, 'succeeded', 204],
  ]);
  // A failed attempt says when the next one is due; the success none.
  expect(attempts.slice(0, 3).every((d) => typeof d.next_attempt_at === 'string')).toBe(true);
  expect(attempts[3].next_attempt_at).toBeNull();
  expect((await bea.client.get(`/v1/webhook-endpoints/${endpoint.id}`)).body).toMatchObject({ status: 'enabled', failure_streak: 0 });
  // Counted by outcome for Prometheus (this process's registry: the worker runs here).
  const counts = Object.fromEntries((await webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]));
  expect(counts.failed).toBeGreaterThanOrEqual(3);
  expect(counts.succeeded).toBeGreaterThanOrEqual(1);
});

test('a receiver down for the whole retry window leaves the endpoint disabled and every attempt visible; enabled again, it can be redelivered to', async () => {
  const cal = await customer('Cal');
  const closedPort = await freePort();
  const created = await cal.client.post('/v1/webhook-endpoints', { url: `http://127.0.0.1:${closedPort}/hooks/cal` });
  expect(created.status).toBe(201);
  const done = await transfer(cal.client, cal.accountId, cal.otherAccountId);

  const deadline = Date.now() + 30_000;
  let endpoint = (await cal.client.get(`/v1/webhook-endpoints/${created.body.id}`)).body;
  while (endpoint.status !== 'disabled' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    endpoint = (await cal.client.get(`/v1/webhook-endpoints/${created.body.id}`)).body;
  }
  expect(endpoint).toMatchObject({ status: 'disabled', disabled_reason: expect.stringMatching(/^no delivery succeeded for 4 s \(6 attempts of one event failed\)$/) });
  const deliveries = (await cal.client.get(`/v1/webhook-endpoints/${created.body.id}/deliveries?limit=100`)).body.data as any[];
  const forEvent = deliveries.filter((d) => d.event_type === 'transfer.completed');
  // 0.5 s, 1 s, 1 s, 1 s, 0.5 s: six attempts in the 4 s window, all refused, the last with no next one.
  expect(forEvent.map((d) => d.outcome)).toEqual(Array(6).fill('failed'));
  expect(forEvent.every((d) => d.error === 'connection refused' && d.response_status === null)).toBe(true);
  expect(forEvent[0].next_attempt_at).toBeNull();

  // A disabled endpoint is not redelivered to until it is enabled.
  const eventId = forEvent[0].event_id as string;
  const refused = await cal.client.post(`/v1/events/${eventId}/redeliver`, { endpoint_id: created.body.id });
  expectErrorEnvelope(refused, 409, 'webhook_endpoint_disabled', '#/endpoint_id');
  const enabled = await cal.client.post(`/v1/webhook-endpoints/${created.body.id}/enable`, {});
  expect(enabled.body).toMatchObject({ status: 'enabled', failure_streak: 0, disabled_reason: null });
  expect((await cal.client.get(`/v1/events/${eventId}`)).body.data.id).toBe(done.id);
  const redelivered = await cal.client.post(`/v1/events/${eventId}/redeliver`, { endpoint_id: created.body.id });
  expect(redelivered.status).toBe(202);
  expect(redelivered.body).toEqual({ event_id: eventId, deliveries: [{ endpoint_id: created.body.id, workflow_id: expect.stringMatching(/-redelivery-/) }] });
});

test('a held transfer tells its customer it was held, released by compliance, then completed', async () => {
  const ida = await customer('Ida');
  await deposit(admin, ida.accountId, '20000.00');
  await register(ida.client, 'ida', { event_types: ['transfer.held', 'transfer.released', 'transfer.completed'] });
  // Over the amount threshold: held for a compliance officer (response code 12, quarantined).
  const held = await postTransfer(ida.client, { source_account_id: ida.accountId, destination_account_id: ida.otherAccountId, source_amount: '12000.00', reference: 'webhook held' });
  expect(held.body.status).toBe('held');
  const [heldEvent] = await receivedMatching('ida', forTransfer(held.body.id, 'transfer.held'));
  expect(JSON.parse((heldEvent as Received).body).data).toMatchObject({ status: 'held', response_code: '12' });
  const officer = httpClient(app.url, await createKey(db, 'compliance'));
  expect((await officer.post(`/v1/transfers/${held.body.id}/release`, { reason: 'documents checked' })).status).toBe(200);
  const events = await eventsInOrder('ida', held.body.id, 3);
  expect(events.map((e) => [e.type, e.data.status])).toEqual([
    ['transfer.held', 'held'],
    ['transfer.released', 'processing'],
    ['transfer.completed', 'completed'],
  ]);
});

test('a payout tells its customer it was sent, completed and returned, in the order of the events\' created_at', async () => {
  const hal = await customer('Hal');
  await register(hal.client, 'hal', { event_types: ['payout.sent', 'payout.completed', 'payout.returned'] });
  const accountNumber = String(Date.now()).slice(-10);
  const beneficiary = await admin.post('/v1/beneficiaries', {
    customer_id: hal.customerId,
    name: 'Hal Beneficiary',
    country: 'DE',
    currency: 'USD',
    bank_details: { account_number: accountNumber, bank_code: 'HOOKDE01' },
  });
  expect(beneficiary.status).toBe(201);
  // The simulated bank settles it at once, then sends it back within the return window.
  const controls = await fetch(`${testRail().url}/controls/${accountNumber}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ settle_after_ms: 50, return_after_ms: 500 }) });
  expect(controls.status).toBe(200);
  const payout = await hal.client.post('/v1/payouts', { source_account_id: hal.accountId, beneficiary_id: beneficiary.body.id, source_amount: '25.00', reference: 'webhook payout' }, { headers: { 'idempotency-key': randomUUID() } });
  expect([201, 202]).toContain(payout.status);

  const events = await eventsInOrder('hal', payout.body.id, 3);
  expect(events.map((e) => [e.type, e.data.status])).toEqual([
    ['payout.sent', 'sent'],
    ['payout.completed', 'completed'],
    ['payout.returned', 'returned'],
  ]);
  // The customer's GET shows what the last event carried.
  expect((await hal.client.get(`/v1/payouts/${payout.body.id}`)).body.status).toBe('returned');
});

test("a client never receives, sees or manages another customer's events and endpoints; a transfer between two customers tells each its own view", async () => {
  const dee = await customer('Dee');
  const eve = await customer('Eve');
  await register(dee.client, 'dee');
  const eveEndpoint = await register(eve.client, 'eve');

  // Eve's own transfer: nothing reaches Dee.
  const evesOwn = await transfer(eve.client, eve.accountId, eve.otherAccountId);
  expect(await receivedMatching('eve', forTransfer(evesOwn.id, 'transfer.completed'))).toHaveLength(1);
  // Dee pays Eve: each hears of it, with its own side's entry only.
  const deeToEve = await transfer(dee.client, dee.accountId, eve.accountId);
  const [toDee] = await receivedMatching('dee', forTransfer(deeToEve.id, 'transfer.completed'));
  const [toEve] = await receivedMatching('eve', forTransfer(deeToEve.id, 'transfer.completed'));
  const deeView = JSON.parse((toDee as Received).body);
  const eveView = JSON.parse((toEve as Received).body);
  expect([deeView.data.source_entry === null, deeView.data.destination_entry === null]).toEqual([false, true]);
  expect([eveView.data.source_entry === null, eveView.data.destination_entry === null]).toEqual([true, false]);
  expect(deeView.id).not.toBe(eveView.id);

  const deeGot = (await received('dee')).map((r) => JSON.parse(r.body).data.id);
  expect(deeGot).not.toContain(evesOwn.id);
  // Eve's endpoint and events are "not found" to Dee's key, and absent from its lists.
  expectErrorEnvelope(await dee.client.get(`/v1/webhook-endpoints/${eveEndpoint.id}`), 404, 'not_found');
  expectErrorEnvelope(await dee.client.get(`/v1/events/${eveView.id}`), 404, 'not_found');
  expectErrorEnvelope(await dee.client.post(`/v1/events/${eveView.id}/redeliver`, {}), 404, 'not_found');
  expectErrorEnvelope(await dee.client.request('DELETE', `/v1/webhook-endpoints/${eveEndpoint.id}`), 404, 'not_found');
  const deeEvents = (await dee.client.get('/v1/events?limit=100')).body.data as any[];
  expect(deeEvents.every((e) => e.customer_id === dee.customerId)).toBe(true);
  expect(deeEvents.map((e) => e.id)).toContain(deeView.id);
  // A client key cannot register an endpoint for someone else.
  expectErrorEnvelope(await dee.client.post('/v1/webhook-endpoints', { url: `${receiverUrl}/hooks/x`, customer_id: eve.customerId }), 422, 'customer_not_found', '#/customer_id');
});

test('a rotated secret keeps deliveries verifiable: both secrets sign during the grace period, only the new one after', async () => {
  const fay = await customer('Fay');
  const endpoint = await register(fay.client, 'fay');
  const rotated = await fay.client.post(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { grace_period_seconds: 3600 });
  expect(rotated.status).toBe(200);
  expect(rotated.body.secret).not.toBe(endpoint.secret);
  const first = await transfer(fay.client, fay.accountId, fay.otherAccountId);
  const [during] = await receivedMatching('fay', forTransfer(first.id, 'transfer.completed'));
  const d = during as Received;
  expect(d.headers['webhook-signature']?.split(' ')).toHaveLength(2);
  expect(new Webhook(endpoint.secret).verify(d.body, d.headers)).toMatchObject({ data: { id: first.id } });
  expect(new Webhook(rotated.body.secret).verify(d.body, d.headers)).toMatchObject({ data: { id: first.id } });

  // Rotated again with no grace: only the newest secret signs.
  const again = await fay.client.post(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { grace_period_seconds: 0 });
  const second = await transfer(fay.client, fay.accountId, fay.otherAccountId);
  const [after] = await receivedMatching('fay', forTransfer(second.id, 'transfer.completed'));
  const a = after as Received;
  expect(a.headers['webhook-signature']?.split(' ')).toHaveLength(1);
  expect(new Webhook(again.body.secret).verify(a.body, a.headers)).toMatchObject({ data: { id: second.id } });
  expect(() => new Webhook(rotated.body.secret).verify(a.body, a.headers)).toThrow();
});

test("endpoints and events list in pages, newest first, each page's cursor only the caller's", async () => {
  const jo = await customer('Jo');
  const made = [];
  for (const hook of ['jo-1', 'jo-2', 'jo-3']) made.push((await register(jo.client, hook)).id);
  const { items, pages } = await allPages(jo.client, '/v1/webhook-endpoints?limit=2');
  expect(pages).toBe(2);
  expect(items.map((e) => e.id)).toEqual([...made].reverse());
  expect(items.every((e) => e.secret === undefined)).toBe(true);
  // The admin sees them by customer; another customer's key finds none of them.
  expect((await admin.get(`/v1/webhook-endpoints?customer_id=${jo.customerId}`)).body.data).toHaveLength(3);
  const other = await customer('Kit');
  expect((await other.client.get(`/v1/webhook-endpoints?customer_id=${jo.customerId}`)).body.data).toEqual([]);
  const first = await jo.client.get('/v1/webhook-endpoints?limit=2');
  expectErrorEnvelope(await other.client.get(`/v1/webhook-endpoints?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`), 422, 'invalid_cursor');
});

test('webhook URLs that could reach the operator\'s network are refused with a reason, and nothing is registered', async () => {
  const gus = await customer('Gus');
  for (const url of ['http://10.0.0.8/hook', 'https://169.254.169.254/latest', 'http://example.com/hook', 'https://192.168.1.1/x', 'ftp://127.0.0.1/x', 'https://user:pw@example.com/x', 'not a url']) {
    expectErrorEnvelope(await gus.client.post('/v1/webhook-endpoints', { url }), 422, 'invalid_webhook_url', '#/url');
  }
  expect((await gus.client.get('/v1/webhook-endpoints')).body.data).toEqual([]);
  expectErrorEnvelope(await gus.client.post('/v1/webhook-endpoints', { url: `${receiverUrl}/hooks/gus`, event_types: ['transfer.exploded'] }), 422, 'invalid_value', '#/event_types/0');
});
