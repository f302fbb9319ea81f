/**
 * End to end over HTTP: managing API keys. An admin lists keys (no secret, no hash, paged) and
 * revokes them (idempotent; the key is refused with 401 on its next request; never its own key).
 * Client and compliance keys can do neither.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Application } from '../../stack/application';
import { createAuthService } from '../../src/auth/service';
import { httpClient, startTestApplication, type HttpClient } from '../support/harness';
import { allPages, expectErrorEnvelope, ISO_RE } from './helpers';

let app: Application & { url: string };
let admin: HttpClient;
let adminKeyId: string;
let customerId: string;

beforeAll(async () => {
  app = await startTestApplication();
  const key = await createAuthService({ db: app.db }).createKey({ role: 'admin', label: 'api-keys e2e' });
  admin = httpClient(app.url, key.key);
  adminKeyId = key.id;
  const customer = await admin.post('/v1/customers', { name: 'Key Holder', country: 'GB' });
  expect(customer.status).toBe(201);
  customerId = customer.body.id;
});

afterAll(async () => {
  await app?.stop();
});

async function newKey(body: Record<string, unknown>): Promise<{ id: string; key: string; created_at: string }> {
  const res = await admin.post('/v1/api-keys', body);
  expect(res.status).toBe(201);
  return res.body;
}

const VIEW_FIELDS = ['created_at', 'created_by_key_id', 'customer_id', 'id', 'issued_to', 'label', 'prefix', 'revoked_at', 'role'];

describe('GET /v1/api-keys', () => {
  test('lists every key, newest first, paged, without any secret or hash', async () => {
    const label = `list ${randomUUID().slice(0, 8)}`;
    const made = [
      await newKey({ role: 'compliance', label }),
      await newKey({ role: 'client', customer_id: customerId, label }),
      await newKey({ role: 'admin', label }),
    ];
    const { items, pages } = await allPages(admin, '/v1/api-keys?limit=2');
    expect(pages).toBeGreaterThan(1);
    // No key twice across pages, newest first.
    expect(new Set(items.map((k) => k.id)).size).toBe(items.length);
    for (let i = 1; i < items.length; i++) expect(Date.parse(items[i - 1].created_at)).toBeGreaterThanOrEqual(Date.parse(items[i].created_at));

    const listed = made.map((m) => items.find((k) => k.id === m.id));
    expect(listed).toEqual([
      { id: made[0]!.id, prefix: made[0]!.key.slice(0, 12), role: 'compliance', customer_id: null, label, issued_to: null, created_by_key_id: adminKeyId, created_at: expect.stringMatching(ISO_RE), revoked_at: null },
      { id: made[1]!.id, prefix: made[1]!.key.slice(0, 12), role: 'client', customer_id: customerId, label, issued_to: null, created_by_key_id: adminKeyId, created_at: expect.stringMatching(ISO_RE), revoked_at: null },
      { id: made[2]!.id, prefix: made[2]!.key.slice(0, 12), role: 'admin', customer_id: null, label, issued_to: null, created_by_key_id: adminKeyId, created_at: expect.stringMatching(ISO_RE), revoked_at: null },
    ]);
    // Exactly these fields on every key, and nothing that is (or hashes) a secret.
    const text = JSON.stringify(items);
    for (const m of made) {
      expect(text).not.toContain(m.key);
      expect(text).not.toContain(createHash('sha256').update(m.key, 'utf8').digest('hex'));
    }
    for (const k of items) expect(Object.keys(k).sort()).toEqual(VIEW_FIELDS);
    expect(text).not.toContain('key_hash');
  });

  test('refuses a bad limit or a cursor it did not issue with 422', async () => {
    expectErrorEnvelope(await admin.get('/v1/api-keys?limit=0'), 422, 'invalid_value', '#/limit');
    expectErrorEnvelope(await admin.get('/v1/api-keys?cursor=bm90LWEtY3Vyc29y'), 422, 'invalid_cursor', '#/cursor');
    const forged = Buffer.from(JSON.stringify({ created_at: '2026-13-45T00:00:00.000000Z', id: randomUUID() })).toString('base64url');
    expectErrorEnvelope(await admin.get(`/v1/api-keys?cursor=${forged}`), 422, 'invalid_cursor', '#/cursor');
    // Well-formed, but naming no key.
    const unknown = Buffer.from(JSON.stringify({ created_at: '2026-01-02T03:04:05.123456Z', id: randomUUID() })).toString('base64url');
    expectErrorEnvelope(await admin.get(`/v1/api-keys?cursor=${unknown}`), 422, 'invalid_cursor', '#/cursor');
    expectErrorEnvelope(await admin.get('/v1/api-keys?role=admin'), 422, 'unknown_field', '#/role');
  });
});

describe('POST /v1/api-keys/:id/revoke', () => {
  test('a revoked key is refused with 401 on its next request; revoking again answers the same; it is listed as revoked', async () => {
    const victim = await newKey({ role: 'client', customer_id: customerId, label: 'to revoke' });
    const holder = httpClient(app.url, victim.key);
    expect((await holder.get(`/v1/customers/${customerId}`)).status).toBe(200);

    const revoked = await admin.post(`/v1/api-keys/${victim.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: victim.id, role: 'client', customer_id: customerId, revoked_at: expect.stringMatching(ISO_RE) });
    expect(Object.keys(revoked.body).sort()).toEqual(VIEW_FIELDS);
    expect(JSON.stringify(revoked.body)).not.toContain(victim.key);

    expectErrorEnvelope(await holder.get(`/v1/customers/${customerId}`), 401, 'expired_token');
    expectErrorEnvelope(await holder.post('/v1/accounts', { customer_id: customerId, currency: 'USD' }), 401, 'expired_token');

    // Idempotent: the first revocation time stays.
    const again = await admin.post(`/v1/api-keys/${victim.id}/revoke`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(revoked.body);

    const row = await app.db('api_keys').where({ id: victim.id }).first();
    expect(row.revoked_at.toISOString()).toBe(revoked.body.revoked_at);
    const { items } = await allPages(admin, '/v1/api-keys?limit=100');
    expect(items.find((k) => k.id === victim.id)).toEqual(revoked.body);
  });

  test('an unknown or malformed id is a 404', async () => {
    expectErrorEnvelope(await admin.post(`/v1/api-keys/${randomUUID()}/revoke`), 404, 'not_found');
    expectErrorEnvelope(await admin.post('/v1/api-keys/not-a-uuid/revoke'), 404, 'not_found');
  });

  test('an admin cannot revoke the key it calls with (409), in any spelling of the id; its key keeps working', async () => {
    for (const id of [adminKeyId, adminKeyId.toUpperCase()]) {
      expectErrorEnvelope(await admin.post(`/v1/api-keys/${id}/revoke`), 409, 'revoking_own_key');
    }
    expect((await app.db('api_keys').where({ id: adminKeyId }).first()).revoked_at).toBeNull();
    expect((await admin.get('/v1/api-keys?limit=1')).status).toBe(200);

    // Rotation: a new admin key revokes the old one.
    const old = await newKey({ role: 'admin', label: 'old admin' });
    const fresh = httpClient(app.url, (await newKey({ role: 'admin', label: 'new admin' })).key);
    expect((await httpClient(app.url, old.key).get('/v1/api-keys?limit=1')).status).toBe(200);
    expect((await fresh.post(`/v1/api-keys/${old.id}/revoke`)).status).toBe(200);
    expectErrorEnvelope(await httpClient(app.url, old.key).get('/v1/api-keys?limit=1'), 401, 'expired_token');
  });
});

describe('who may manage keys', () => {
  test('client and compliance keys can neither list nor revoke (403); without a key, 401; nothing is revoked', async () => {
    const target = await newKey({ role: 'compliance', label: 'target' });
    const client = httpClient(app.url, (await newKey({ role: 'client', customer_id: customerId })).key);
    const compliance = httpClient(app.url, (await newKey({ role: 'compliance' })).key);
    for (const caller of [client, compliance]) {
      expectErrorEnvelope(await caller.get('/v1/api-keys'), 403, 'not_authorized');
      expectErrorEnvelope(await caller.post(`/v1/api-keys/${target.id}/revoke`), 403, 'not_authorized');
    }
    const anonymous = httpClient(app.url);
    expectErrorEnvelope(await anonymous.get('/v1/api-keys'), 401, 'expired_token');
    expectErrorEnvelope(await anonymous.post(`/v1/api-keys/${target.id}/revoke`), 401, 'expired_token');

    expect((await app.db('api_keys').where({ id: target.id }).first()).revoked_at).toBeNull();
    expect((await httpClient(app.url, target.key).get(`/v1/customers/${customerId}`)).status).toBe(200);
  });
});
