/**
 * End to end over HTTP: bearer keys, roles (admin, client, compliance), a client's view limited to
 * its own customer, keys stored only as hashes, and the unauthenticated health endpoints.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Application } from '../../stack/application';
import {
  createKey,
  customerWithAccount,
  expectLedgerInvariants,
  httpClient,
  startTestApplication,
  type HttpClient,
} from '../support/harness';
import { balancesOf, count, expectErrorEnvelope, postTransfer, UUID_RE } from './helpers';

let app: Application & { url: string };
let admin: HttpClient;
let anonymous: HttpClient;
/** Alice and Bob each have a client key and a funded USD account; Carol has an account and no key. */
let alice: { customerId: string; accountId: string; client: HttpClient };
let bob: { customerId: string; accountId: string; client: HttpClient };
let carol: { customerId: string; accountId: string };
let compliance: HttpClient;
/** A transfer between Bob and Carol: none of Alice's business. */
let bobToCarol: any;

async function apiKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await admin.post('/v1/api-keys', body);
  expect(res.status).toBe(201);
  return res.body;
}

beforeAll(async () => {
  app = await startTestApplication();
  admin = httpClient(app.url, await createKey(app.db, 'admin'));
  anonymous = httpClient(app.url);
  const a = await customerWithAccount(admin, { currency: 'USD', deposit: '100.00', name: 'Alice' });
  const b = await customerWithAccount(admin, { currency: 'USD', deposit: '50.00', name: 'Bob' });
  carol = await customerWithAccount(admin, { currency: 'USD', name: 'Carol' });
  alice = { ...a, client: httpClient(app.url, (await apiKey({ role: 'client', customer_id: a.customerId })).key) };
  bob = { ...b, client: httpClient(app.url, (await apiKey({ role: 'client', customer_id: b.customerId })).key) };
  compliance = httpClient(app.url, (await apiKey({ role: 'compliance' })).key);
  const res = await postTransfer(admin, { source_account_id: bob.accountId, destination_account_id: carol.accountId, source_amount: '5.00', reference: 'bob to carol' });
  expect(res.status).toBe(201);
  bobToCarol = res.body;
});

afterAll(async () => {
  await app?.stop();
});

describe('authentication', () => {
  test('no Authorization header is a 401 on every /v1 route, and creates nothing', async () => {
    const key = randomUUID();
    const attempts = [
      anonymous.get('/v1/transfers'),
      anonymous.get(`/v1/transfers/${bobToCarol.id}`),
      anonymous.get(`/v1/accounts/${alice.accountId}`),
      anonymous.get(`/v1/accounts/${alice.accountId}/entries`),
      anonymous.get(`/v1/customers/${alice.customerId}`),
      anonymous.post('/v1/customers', { name: 'Mallory', country: 'GB' }),
      anonymous.post(`/v1/accounts/${alice.accountId}/deposits`, { amount: '1000.00', reference: 'free money' }),
      anonymous.post('/v1/api-keys', { role: 'admin' }),
      postTransfer(anonymous, { source_account_id: alice.accountId, destination_account_id: bob.accountId, source_amount: '1.00', reference: 'anon' }, key),
    ];
    for (const res of await Promise.all(attempts)) {
      expectErrorEnvelope(res, 401, 'expired_token');
      expect(res.body.code).toBe('401 Unauthorized');
    }
    expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(0);
    expect(await balancesOf(admin, alice.accountId)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });
    await expectLedgerInvariants(app.db);
  });

  test('a wrong, malformed or revoked key is a 401', async () => {
    const revoked = await apiKey({ role: 'admin', label: 'to revoke' });
    expect((await httpClient(app.url, revoked.key).get(`/v1/customers/${alice.customerId}`)).status).toBe(200);
    await app.db('api_keys').where({ id: revoked.id }).update({ revoked_at: app.db.fn.now() });

    const headers = [
      'Bearer sk_admin_thisKeyDoesNotExist0123456789',
      `Bearer ${revoked.key}`,
      `Bearer ${revoked.key}x`,
      'Bearer short',
      'Bearer ',
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      `Token ${revoked.key}`,
      'garbage',
    ];
    for (const authorization of headers) {
      const res = await anonymous.get(`/v1/customers/${alice.customerId}`, { headers: { authorization } });
      expectErrorEnvelope(res, 401, 'expired_token');
    }
    await expectLedgerInvariants(app.db);
  });

  test('the bearer scheme is case-insensitive', async () => {
    const { key } = await apiKey({ role: 'compliance' });
    const res = await anonymous.get(`/v1/customers/${alice.customerId}`, { headers: { authorization: `bearer ${key}` } });
    expect(res.status).toBe(200);
    await expectLedgerInvariants(app.db);
  });
});

describe('a client key', () => {
  test('sees its own customer, account, entries and transfers, and can send money from its account', async () => {
    const customer = await alice.client.get(`/v1/customers/${alice.customerId}`);
    expect(customer.status).toBe(200);
    expect(customer.body).toMatchObject({ id: alice.customerId, name: 'Alice' });

    const account = await alice.client.get(`/v1/accounts/${alice.accountId}`);
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ id: alice.accountId, customer_id: alice.customerId, currency: 'USD' });

    const sent = await postTransfer(alice.client, { source_account_id: alice.accountId, destination_account_id: bob.accountId, source_amount: '10.00', reference: 'alice to bob' });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ status: 'completed', response_code: '1', source_entry: { balance: '90.00' } });
    // Bob's entry carries Bob's running balance: Alice's key does not get it.
    expect(sent.body.destination_entry).toBeNull();

    const got = await alice.client.get(`/v1/transfers/${sent.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(sent.body);
    // Bob sees it too: it arrived in his account. He gets his own entry, not Alice's.
    const received = await bob.client.get(`/v1/transfers/${sent.body.id}`);
    expect(received.status).toBe(200);
    expect(received.body.source_entry).toBeNull();
    expect(received.body.destination_entry).toMatchObject({ account_id: bob.accountId, type: 'credit', amount: '10.00', balance: '55.00' });
    // An admin sees both.
    const full = await admin.get(`/v1/transfers/${sent.body.id}`);
    expect(full.body.source_entry).toMatchObject({ balance: '90.00' });
    expect(full.body.destination_entry).toMatchObject({ balance: '55.00' });

    const entries = await alice.client.get(`/v1/accounts/${alice.accountId}/entries`);
    expect(entries.status).toBe(200);
    expect(entries.body.data.map((e: any) => `${e.type} ${e.amount} ${e.balance}`)).toEqual(['debit 10.00 90.00', 'credit 100.00 100.00']);

    const mine = await alice.client.get(`/v1/transfers?account_id=${alice.accountId}`);
    expect(mine.status).toBe(200);
    expect(mine.body.data.map((t: any) => t.id)).toEqual([sent.body.id]);

    // Unfiltered, a client's list holds only transfers that touch its own accounts.
    const all = await alice.client.get('/v1/transfers?limit=100');
    expect(all.status).toBe(200);
    expect(all.body.data.map((t: any) => t.id)).toContain(sent.body.id);
    expect(all.body.data.map((t: any) => t.id)).not.toContain(bobToCarol.id);
    for (const t of all.body.data) {
      expect([t.source_account_id, t.destination_account_id]).toContain(alice.accountId);
    }
    const bobs = await bob.client.get('/v1/transfers?limit=100');
    expect(bobs.body.data.map((t: any) => t.id).sort()).toEqual([sent.body.id, bobToCarol.id].sort());
    await expectLedgerInvariants(app.db);
  });

  test('gets 404 for another customer’s customer, account, entries, transfers and transfer list', async () => {
    const attempts = [
      alice.client.get(`/v1/customers/${bob.customerId}`),
      alice.client.get(`/v1/accounts/${bob.accountId}`),
      alice.client.get(`/v1/accounts/${bob.accountId}/entries`),
      alice.client.get(`/v1/transfers/${bobToCarol.id}`),
      alice.client.get(`/v1/transfers?account_id=${bob.accountId}`),
      alice.client.get(`/v1/accounts/${carol.accountId}`),
    ];
    for (const res of await Promise.all(attempts)) expectErrorEnvelope(res, 404, 'not_found');
    // The same resources exist: an admin sees them.
    for (const path of [`/v1/customers/${bob.customerId}`, `/v1/accounts/${bob.accountId}/entries`, `/v1/transfers/${bobToCarol.id}`]) {
      expect((await admin.get(path)).status).toBe(200);
    }
    await expectLedgerInvariants(app.db);
  });

  test('a payee never sees a payer’s declined transfer, nor why it was declined', async () => {
    const dave = await customerWithAccount(admin, { currency: 'USD', name: 'Dave' });
    const daveClient = httpClient(app.url, (await apiKey({ role: 'client', customer_id: dave.customerId })).key);
    const declined = await postTransfer(alice.client, { source_account_id: alice.accountId, destination_account_id: dave.accountId, source_amount: '5000.00', reference: 'too much' });
    expect(declined.status).toBe(201);
    expect(declined.body).toMatchObject({ status: 'declined', response_code: '650' });
    const paid = await postTransfer(alice.client, { source_account_id: alice.accountId, destination_account_id: dave.accountId, source_amount: '1.00', reference: 'fits' });
    expect(paid.body).toMatchObject({ status: 'completed' });

    expectErrorEnvelope(await daveClient.get(`/v1/transfers/${declined.body.id}`), 404, 'not_found');
    const list = await daveClient.get(`/v1/transfers?account_id=${dave.accountId}&limit=100`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((t: any) => t.id)).toEqual([paid.body.id]);
    await expectLedgerInvariants(app.db);
  });

  test('cannot use another customer’s account as the source: 422 account_not_found, nothing moves', async () => {
    const before = await balancesOf(admin, bob.accountId);
    const key = randomUUID();
    const res = await postTransfer(alice.client, { source_account_id: bob.accountId, destination_account_id: alice.accountId, source_amount: '20.00', reference: 'steal' }, key);
    expectErrorEnvelope(res, 422, 'account_not_found', '#/source_account_id');
    expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(0);
    expect(await balancesOf(admin, bob.accountId)).toEqual(before);
    await expectLedgerInvariants(app.db);
  });

  test('cannot deposit, create customers, create API keys or open accounts for others', async () => {
    const before = await balancesOf(admin, alice.accountId);
    const forbidden = [
      alice.client.post(`/v1/accounts/${alice.accountId}/deposits`, { amount: '1000.00', reference: 'free money' }),
      alice.client.post('/v1/customers', { name: 'Alice Two', country: 'GB' }),
      alice.client.post('/v1/api-keys', { role: 'client', customer_id: alice.customerId }),
      alice.client.post('/v1/api-keys', { role: 'admin' }),
    ];
    for (const res of await Promise.all(forbidden)) {
      expectErrorEnvelope(res, 403, 'not_authorized');
      expect(res.body.code).toBe('403 Forbidden');
    }
    const otherAccount = await alice.client.post('/v1/accounts', { customer_id: bob.customerId, currency: 'USD' });
    expectErrorEnvelope(otherAccount, 422, 'customer_not_found', '#/customer_id');
    expect(await balancesOf(admin, alice.accountId)).toEqual(before);
    expect(await count(app.db('api_keys').where({ customer_id: alice.customerId }))).toBe(1);
    expect(await count(app.db('accounts').where({ customer_id: bob.customerId }))).toBe(1);
    await expectLedgerInvariants(app.db);
  });
});

describe('a compliance key', () => {
  test('reads any customer, account, entries and transfer', async () => {
    const reads = [
      `/v1/customers/${bob.customerId}`,
      `/v1/accounts/${bob.accountId}`,
      `/v1/accounts/${bob.accountId}/entries`,
      `/v1/transfers/${bobToCarol.id}`,
      `/v1/transfers?account_id=${carol.accountId}`,
    ];
    for (const path of reads) {
      const res = await compliance.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    expect((await compliance.get(`/v1/transfers/${bobToCarol.id}`)).body).toEqual(bobToCarol);
    expect((await compliance.get(`/v1/transfers?account_id=${carol.accountId}`)).body.data.map((t: any) => t.id)).toEqual([bobToCarol.id]);
    await expectLedgerInvariants(app.db);
  });

  test('cannot create transfers, deposits, customers, accounts or keys', async () => {
    const before = await balancesOf(admin, bob.accountId);
    const key = randomUUID();
    const transfer = await postTransfer(compliance, { source_account_id: bob.accountId, destination_account_id: carol.accountId, source_amount: '1.00', reference: 'compliance' }, key);
    expectErrorEnvelope(transfer, 403, 'not_authorized');
    expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(0);

    const forbidden = [
      compliance.post(`/v1/accounts/${bob.accountId}/deposits`, { amount: '1.00', reference: 'x' }),
      compliance.post('/v1/customers', { name: 'Compliance', country: 'GB' }),
      compliance.post('/v1/accounts', { customer_id: bob.customerId, currency: 'EUR' }),
      compliance.post('/v1/api-keys', { role: 'compliance' }),
    ];
    for (const res of await Promise.all(forbidden)) expectErrorEnvelope(res, 403, 'not_authorized');
    expect(await balancesOf(admin, bob.accountId)).toEqual(before);
    expect(await count(app.db('accounts').where({ customer_id: bob.customerId }))).toBe(1);
    await expectLedgerInvariants(app.db);
  });
});

describe('API keys', () => {
  test('are shown once and stored only as their SHA-256', async () => {
    const res = await admin.post('/v1/api-keys', { role: 'client', customer_id: carol.customerId, label: 'carol app' });
    expect(res.status).toBe(201);
    const secret: string = res.body.key;
    expect(res.body).toMatchObject({ id: expect.stringMatching(UUID_RE), role: 'client', customer_id: carol.customerId, prefix: secret.slice(0, 12) });
    expect(secret.length).toBeGreaterThanOrEqual(32);

    const row = await app.db('api_keys').where({ id: res.body.id }).first();
    expect(row).toBeDefined();
    expect(row.key_hash).toBe(createHash('sha256').update(secret, 'utf8').digest('hex'));
    for (const [column, value] of Object.entries(row)) {
      const text = value instanceof Date ? value.toISOString() : String(value);
      expect({ column, holdsSecret: text.includes(secret) }).toEqual({ column, holdsSecret: false });
    }
    // Nowhere in the table, under any column.
    const anywhere = await app.db.raw('SELECT count(*)::int AS n FROM api_keys k WHERE strpos(row_to_json(k)::text, ?) > 0', [secret]);
    expect(anywhere.rows[0].n).toBe(0);

    // And the secret works: Carol's key sees Carol.
    const carolClient = httpClient(app.url, secret);
    expect((await carolClient.get(`/v1/customers/${carol.customerId}`)).status).toBe(200);
    expect((await carolClient.get(`/v1/customers/${alice.customerId}`)).status).toBe(404);
    await expectLedgerInvariants(app.db);
  });

  test('a client key needs an existing customer, and only client keys take one', async () => {
    expectErrorEnvelope(await admin.post('/v1/api-keys', { role: 'client' }), 422, 'invalid_value', '#/customer_id');
    expectErrorEnvelope(await admin.post('/v1/api-keys', { role: 'compliance', customer_id: alice.customerId }), 422, 'invalid_value', '#/customer_id');
    expectErrorEnvelope(await admin.post('/v1/api-keys', { role: 'client', customer_id: randomUUID() }), 422, 'customer_not_found', '#/customer_id');
    expectErrorEnvelope(await admin.post('/v1/api-keys', { role: 'root' }), 422, 'invalid_value', '#/role');
    await expectLedgerInvariants(app.db);
  });
});

describe('health', () => {
  test('GET /health and GET /ready answer 200 without a key, with postgres and temporal up', async () => {
    const health = await anonymous.get('/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await anonymous.get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', down: [], checks: { postgres: 'up', temporal: 'up' } });
    await expectLedgerInvariants(app.db);
  });
});
