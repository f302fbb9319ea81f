/**
 * End to end over HTTP: the API and a worker in this process, on the real Postgres and the real
 * Temporal dev server. Deposits, transfers, balances, entries, listing, idempotency and a race.
 */
import { randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import type { Application } from '../../stack/application';
import {
  awaitTransferOutcome,
  createKey,
  customerWithAccount,
  expectLedgerInvariants,
  httpClient,
  startTestApplication,
  type HttpClient,
} from '../support/harness';
import {
  allPages,
  balancesOf,
  count,
  deposit,
  expectErrorEnvelope,
  expectRunningBalances,
  ISO_RE,
  postTransfer,
  settled,
  UUID_RE,
} from './helpers';

let app: Application & { url: string };
let admin: HttpClient;

beforeAll(async () => {
  app = await startTestApplication();
  admin = httpClient(app.url, await createKey(app.db, 'admin'));
});

afterAll(async () => {
  await app?.stop();
});

const ledgerTransactionsOf = (transferId: string) => count(app.db('ledger_transactions').where({ transfer_id: transferId }));

describe('balances, transfers and entries', () => {
  test('deposit then transfer: balances, the transfer and both accounts’ entries', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '100.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '0.00', pending: '0.00', available: '0.00' });

    const externalId = `ext-${randomUUID()}`;
    const res = await postTransfer(admin, {
      source_account_id: a.accountId,
      destination_account_id: b.accountId,
      source_amount: '30.25',
      reference: 'Invoice 42',
      description: 'March rent',
      external_id: externalId,
      metadata: { order: 'A-1', channel: 'web' },
    });
    expect(res.status).toBe(201);
    const t = res.body;
    expect(res.headers.get('location')).toBe(`/v1/transfers/${t.id}`);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(t).toMatchObject({
      id: expect.stringMatching(UUID_RE),
      ref_id: expect.stringMatching(/^[A-HJ-NP-Z2-9]{10}$/),
      status: 'completed',
      response_code: '1',
      message: 'success',
      source_account_id: a.accountId,
      destination_account_id: b.accountId,
      source_amount: { amount: '30.25', currency: 'USD' },
      target_amount: { amount: '30.25', currency: 'USD' },
      reference: 'Invoice 42',
      description: 'March rent',
      external_id: externalId,
      metadata: { order: 'A-1', channel: 'web' },
      created_at: expect.stringMatching(ISO_RE),
      completed_at: expect.stringMatching(ISO_RE),
    });
    expect(new Date(t.completed_at).getTime()).toBeGreaterThanOrEqual(new Date(t.created_at).getTime());
    expect(t.source_entry).toMatchObject({
      id: expect.stringMatching(UUID_RE),
      account_id: a.accountId,
      type: 'debit',
      amount: '30.25',
      currency: 'USD',
      balance: '69.75',
    });
    expect(t.destination_entry).toMatchObject({
      id: expect.stringMatching(UUID_RE),
      account_id: b.accountId,
      type: 'credit',
      amount: '30.25',
      currency: 'USD',
      balance: '30.25',
    });
    expect(t.destination_entry.transaction_id).toBe(t.source_entry.transaction_id);

    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '69.75', pending: '0.00', available: '69.75' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '30.25', pending: '0.00', available: '30.25' });

    const entriesA = await admin.get(`/v1/accounts/${a.accountId}/entries`);
    expect(entriesA.status).toBe(200);
    expect(entriesA.body.next_cursor).toBeNull();
    expect(entriesA.body.data).toMatchObject([
      { id: t.source_entry.id, type: 'debit', amount: '30.25', currency: 'USD', balance: '69.75', transaction_id: t.source_entry.transaction_id },
      { type: 'credit', amount: '100.00', currency: 'USD', balance: '100.00' },
    ]);
    const entriesB = await admin.get(`/v1/accounts/${b.accountId}/entries`);
    expect(entriesB.body.data).toMatchObject([{ id: t.destination_entry.id, type: 'credit', amount: '30.25', balance: '30.25' }]);

    const txs = await app.db('ledger_transactions').where({ transfer_id: t.id });
    expect(txs.map((x) => x.id)).toEqual([t.source_entry.transaction_id]);
    await expectLedgerInvariants(app.db);
  });

  test('entries are newest first with running balances, and cursor pagination walks them all once', async () => {
    const c = await customerWithAccount(admin, { currency: 'USD', deposit: '100.00' });
    const d = await customerWithAccount(admin, { currency: 'USD' });
    for (const amount of ['1.10', '2.20', '3.30', '4.40', '5.50', '6.60']) await deposit(admin, c.accountId, amount);
    for (const amount of ['3.33', '0.01', '12.00', '7.77', '0.50']) {
      const res = await postTransfer(admin, { source_account_id: c.accountId, destination_account_id: d.accountId, source_amount: amount, reference: 'paging' });
      expect((await settled(admin, res)).status).toBe('completed');
    }
    // 100 + 23.10 deposited, 23.61 sent: 12 entries.
    expect(await balancesOf(admin, c.accountId)).toEqual({ posted: '99.49', pending: '0.00', available: '99.49' });

    const { items, pages } = await allPages(admin, `/v1/accounts/${c.accountId}/entries?limit=5`);
    expect(pages).toBe(3);
    expect(items).toHaveLength(12);
    expect(new Set(items.map((e) => e.id)).size).toBe(12);
    const whole = await admin.get(`/v1/accounts/${c.accountId}/entries?limit=100`);
    expect(whole.body.next_cursor).toBeNull();
    expect(items.map((e) => e.id)).toEqual(whole.body.data.map((e: any) => e.id));

    // Newest first: the last transfer out is on top, the first deposit at the bottom.
    expect(items.map((e) => `${e.type} ${e.amount}`)).toEqual([
      'debit 0.50', 'debit 7.77', 'debit 12.00', 'debit 0.01', 'debit 3.33',
      'credit 6.60', 'credit 5.50', 'credit 4.40', 'credit 3.30', 'credit 2.20', 'credit 1.10', 'credit 100.00',
    ]);
    expect(items[0].balance).toBe('99.49');
    expectRunningBalances(items);
    for (let i = 1; i < items.length; i++) {
      expect(new Date(items[i - 1].created_at).getTime()).toBeGreaterThanOrEqual(new Date(items[i].created_at).getTime());
    }
    expect(items.every((e) => e.account_id === c.accountId && e.currency === 'USD')).toBe(true);
    await expectLedgerInvariants(app.db);
  });

  test('target_amount instead of source_amount moves that amount', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '20.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const res = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, target_amount: '7.5', reference: 'by target' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'completed',
      response_code: '1',
      source_amount: { amount: '7.50', currency: 'USD' },
      target_amount: { amount: '7.50', currency: 'USD' },
      source_entry: { type: 'debit', amount: '7.50', balance: '12.50' },
      destination_entry: { type: 'credit', amount: '7.50', balance: '7.50' },
    });
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '12.50', pending: '0.00', available: '12.50' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '7.50', pending: '0.00', available: '7.50' });
    await expectLedgerInvariants(app.db);
  });

  test('insufficient funds is a 201 decline with 650 that changes no balance; the exact balance still goes through', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '10.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const res = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '10.01', reference: 'too much' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'declined',
      response_code: '650',
      message: expect.stringMatching(/^insufficient_funds/),
      source_amount: { amount: '10.01', currency: 'USD' },
      source_entry: null,
      destination_entry: null,
      completed_at: expect.stringMatching(ISO_RE),
    });
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '0.00', pending: '0.00', available: '0.00' });
    expect((await admin.get(`/v1/accounts/${a.accountId}/entries`)).body.data).toHaveLength(1);
    expect((await admin.get(`/v1/accounts/${b.accountId}/entries`)).body.data).toHaveLength(0);
    expect(await ledgerTransactionsOf(res.body.id)).toBe(0);
    expect(await count(app.db('holds').where({ transfer_id: res.body.id, status: 'pending' }))).toBe(0);

    const exact = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '10.00', reference: 'all of it' });
    expect(exact.body).toMatchObject({ status: 'completed', response_code: '1' });
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '0.00', pending: '0.00', available: '0.00' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });
    await expectLedgerInvariants(app.db);
  });

  test('GET /v1/transfers/:id and GET /v1/transfers filtered by account and status, with cursor pagination', async () => {
    const x = await customerWithAccount(admin, { currency: 'USD', deposit: '100.00' });
    const y = await customerWithAccount(admin, { currency: 'USD' });
    const z = await customerWithAccount(admin, { currency: 'USD', deposit: '10.00' });
    const created: any[] = [];
    const send = async (from: string, to: string, amount: string) => {
      const res = await postTransfer(admin, { source_account_id: from, destination_account_id: to, source_amount: amount, reference: 'listing' });
      const t = await settled(admin, res);
      created.push(t);
      return t;
    };
    for (const amount of ['1.00', '2.00']) await send(x.accountId, y.accountId, amount);
    const declined = await send(x.accountId, y.accountId, '500.00');
    const incoming = await send(z.accountId, x.accountId, '5.00');
    for (const amount of ['3.00', '4.00']) await send(x.accountId, y.accountId, amount);
    expect(declined.status).toBe('declined');
    expect(created.filter((t) => t.status === 'completed')).toHaveLength(5);

    for (const t of created) {
      const got = await admin.get(`/v1/transfers/${t.id}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(t);
    }

    const newestFirst = [...created].reverse();
    const completedX = await allPages(admin, `/v1/transfers?account_id=${x.accountId}&status=completed&limit=2`);
    expect(completedX.pages).toBe(3);
    expect(completedX.items.map((t) => t.id)).toEqual(newestFirst.filter((t) => t.status === 'completed').map((t) => t.id));
    expect(completedX.items.map((t) => t.id)).toContain(incoming.id);
    expect(completedX.items[0]).toEqual(newestFirst[0]);

    const declinedX = await allPages(admin, `/v1/transfers?account_id=${x.accountId}&status=declined&limit=2`);
    expect(declinedX.items.map((t) => t.id)).toEqual([declined.id]);
    expect(declinedX.pages).toBe(1);

    const allY = await allPages(admin, `/v1/transfers?account_id=${y.accountId}&limit=1`);
    expect(allY.pages).toBe(5);
    expect(allY.items.map((t) => t.id)).toEqual(newestFirst.filter((t) => t.destination_account_id === y.accountId).map((t) => t.id));

    const processingX = await admin.get(`/v1/transfers?account_id=${x.accountId}&status=processing`);
    expect(processingX.body).toEqual({ data: [], next_cursor: null });
    await expectLedgerInvariants(app.db);
  });

  test('JPY (0 decimals) and KWD (3 decimals) amounts and balances are formatted with the currency’s decimals', async () => {
    const jp = await customerWithAccount(admin, { currency: 'JPY', deposit: '10000' });
    const jq = await customerWithAccount(admin, { currency: 'JPY' });
    expect(await balancesOf(admin, jp.accountId)).toEqual({ posted: '10000', pending: '0', available: '10000' });
    const jpy = await postTransfer(admin, { source_account_id: jp.accountId, destination_account_id: jq.accountId, source_amount: '1234', reference: 'yen' });
    expect(jpy.status).toBe(201);
    expect(jpy.body).toMatchObject({
      status: 'completed',
      source_amount: { amount: '1234', currency: 'JPY' },
      target_amount: { amount: '1234', currency: 'JPY' },
      source_entry: { type: 'debit', amount: '1234', currency: 'JPY', balance: '8766' },
      destination_entry: { type: 'credit', amount: '1234', currency: 'JPY', balance: '1234' },
    });
    expect(await balancesOf(admin, jp.accountId)).toEqual({ posted: '8766', pending: '0', available: '8766' });
    expect(await balancesOf(admin, jq.accountId)).toEqual({ posted: '1234', pending: '0', available: '1234' });
    expect((await admin.get(`/v1/accounts/${jp.accountId}/entries`)).body.data.map((e: any) => [e.amount, e.balance])).toEqual([
      ['1234', '8766'],
      ['10000', '10000'],
    ]);

    const kp = await customerWithAccount(admin, { currency: 'KWD', deposit: '5.25' });
    const kq = await customerWithAccount(admin, { currency: 'KWD' });
    expect(await balancesOf(admin, kp.accountId)).toEqual({ posted: '5.250', pending: '0.000', available: '5.250' });
    const kwd = await postTransfer(admin, { source_account_id: kp.accountId, destination_account_id: kq.accountId, source_amount: '1.5', reference: 'dinar' });
    expect(kwd.body).toMatchObject({
      status: 'completed',
      source_amount: { amount: '1.500', currency: 'KWD' },
      target_amount: { amount: '1.500', currency: 'KWD' },
      source_entry: { amount: '1.500', balance: '3.750' },
      destination_entry: { amount: '1.500', balance: '1.500' },
    });
    const kwd2 = await postTransfer(admin, { source_account_id: kp.accountId, destination_account_id: kq.accountId, target_amount: '0.125', reference: 'fils' });
    expect(kwd2.body).toMatchObject({ status: 'completed', source_amount: { amount: '0.125', currency: 'KWD' }, destination_entry: { balance: '1.625' } });
    expect(await balancesOf(admin, kp.accountId)).toEqual({ posted: '3.625', pending: '0.000', available: '3.625' });
    expect(await balancesOf(admin, kq.accountId)).toEqual({ posted: '1.625', pending: '0.000', available: '1.625' });
    expect((await admin.get(`/v1/accounts/${kq.accountId}/entries`)).body.data.map((e: any) => [e.amount, e.balance])).toEqual([
      ['0.125', '1.625'],
      ['1.500', '1.500'],
    ]);
    await expectLedgerInvariants(app.db);
  });

  test('when the outcome is not reached within the bound: 202 processing with a Location, then it completes', async () => {
    const slow = await startTestApplication({ transferSyncWaitMs: 0 });
    try {
      const slowAdmin = httpClient(slow.url, await createKey(slow.db, 'admin'));
      const a = await customerWithAccount(slowAdmin, { currency: 'USD', deposit: '9.00' });
      const b = await customerWithAccount(slowAdmin, { currency: 'USD' });
      const res = await postTransfer(slowAdmin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '4.00', reference: 'async' });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        id: expect.stringMatching(UUID_RE),
        status: 'processing',
        response_code: null,
        source_amount: { amount: '4.00', currency: 'USD' },
        source_entry: null,
        destination_entry: null,
        completed_at: null,
      });
      const location = res.headers.get('location');
      expect(location).toBe(`/v1/transfers/${res.body.id}`);

      const done = await awaitTransferOutcome(slowAdmin, res.body.id);
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id: res.body.id, status: 'completed', response_code: '1', source_entry: { balance: '5.00' } });
      expect((await slowAdmin.get(location as string)).body).toEqual(done.body);
      expect(await balancesOf(slowAdmin, a.accountId)).toEqual({ posted: '5.00', pending: '0.00', available: '5.00' });
      expect(await balancesOf(slowAdmin, b.accountId)).toEqual({ posted: '4.00', pending: '0.00', available: '4.00' });
    } finally {
      await slow.stop();
    }
    await expectLedgerInvariants(app.db);
  });
});

describe('idempotency', () => {
  test('the same key and body twice is one transfer, replayed the second time', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '50.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const key = randomUUID();
    const body = { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '12.34', reference: 'once', metadata: { k: 'v', z: 'y' } };
    const first = await postTransfer(admin, body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    // The same body with its keys in another order is the same request.
    const reordered = { metadata: { z: 'y', k: 'v' }, reference: 'once', source_amount: '12.34', destination_account_id: b.accountId, source_account_id: a.accountId };
    const second = await postTransfer(admin, reordered, key);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.body).toEqual(first.body);

    expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(1);
    expect(await ledgerTransactionsOf(first.body.id)).toBe(1);
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '37.66', pending: '0.00', available: '37.66' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '12.34', pending: '0.00', available: '12.34' });
    await expectLedgerInvariants(app.db);
  });

  test('the same key with a different body is a 422 idempotency_key_reused and changes nothing', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '50.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const key = randomUUID();
    const body = { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '10.00', reference: 'first' };
    const first = await postTransfer(admin, body, key);
    expect(first.status).toBe(201);

    for (const changed of [{ ...body, source_amount: '11.00' }, { ...body, reference: 'second' }, { ...body, metadata: { a: 'b' } }]) {
      const res = await postTransfer(admin, changed, key);
      expectErrorEnvelope(res, 422, 'idempotency_key_reused', 'header/Idempotency-Key');
    }
    expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(1);
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(1);
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '40.00', pending: '0.00', available: '40.00' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '10.00', pending: '0.00', available: '10.00' });
    await expectLedgerInvariants(app.db);
  });

  test('20 concurrent identical requests: one transfer, one ledger transaction, money moved once', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '100.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const key = randomUUID();
    const body = { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '25.00', reference: 'concurrent' };
    const responses = await Promise.all(Array.from({ length: 20 }, () => postTransfer(admin, body, key)));

    expect(responses.map((r) => (r.status >= 200 && r.status < 300 ? 'ok' : `${r.status} ${JSON.stringify(r.body)}`))).toEqual(Array(20).fill('ok'));
    const ids = new Set(responses.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);

    const outcome = await awaitTransferOutcome(admin, id);
    expect(outcome.body).toMatchObject({ status: 'completed', response_code: '1' });
    expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(1);
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(1);
    expect(await ledgerTransactionsOf(id)).toBe(1);
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '75.00', pending: '0.00', available: '75.00' });
    expect(await balancesOf(admin, b.accountId)).toEqual({ posted: '25.00', pending: '0.00', available: '25.00' });
    await expectLedgerInvariants(app.db);
  });

  test('an external_id already used by the customer is a 409, even under a new Idempotency-Key', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '10.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const externalId = `order-${randomUUID()}`;
    const body = { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '1.00', reference: 'ext', external_id: externalId };
    expect((await postTransfer(admin, body)).status).toBe(201);
    const again = await postTransfer(admin, { ...body, source_amount: '2.00' });
    expectErrorEnvelope(again, 409, 'external_id_already_used', '#/external_id');
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(1);
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '9.00', pending: '0.00', available: '9.00' });
    await expectLedgerInvariants(app.db);
  });

  test('concurrent duplicates carrying an external_id are replays of one transfer, not 409s', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '10.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const key = randomUUID();
    const body = { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '3.00', reference: 'ext dup', external_id: `order-${randomUUID()}` };
    const responses = await Promise.all(Array.from({ length: 10 }, () => postTransfer(admin, body, key)));
    expect(responses.map((r) => r.status).every((st) => st === 201 || st === 202)).toBe(true);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(1);
    await awaitTransferOutcome(admin, responses[0]!.body.id);
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '7.00', pending: '0.00', available: '7.00' });
    await expectLedgerInvariants(app.db);
  });

  test('a transfer without an Idempotency-Key is a 422 idempotency_key_missing and creates nothing', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '5.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const res = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '1.00', reference: 'no key' }, null);
    expectErrorEnvelope(res, 422, 'idempotency_key_missing', 'header/Idempotency-Key');
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(0);
    expect(await balancesOf(admin, a.accountId)).toEqual({ posted: '5.00', pending: '0.00', available: '5.00' });
    await expectLedgerInvariants(app.db);
  });
});

describe('concurrency', () => {
  test('100 concurrent 1.00 transfers from 50.00: exactly 50 complete, 50 decline with 650, never negative', async () => {
    const src = await customerWithAccount(admin, { currency: 'USD', deposit: '50.00' });
    const dst = await customerWithAccount(admin, { currency: 'USD' });

    // Watch the source's balances while the race runs.
    const observed: Array<{ posted: string; pending: string; available: string }> = [];
    let racing = true;
    const watcher = (async () => {
      while (racing) {
        observed.push(await balancesOf(admin, src.accountId));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    let responses;
    try {
      responses = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          postTransfer(admin, { source_account_id: src.accountId, destination_account_id: dst.accountId, source_amount: '1.00', reference: `race ${i}` }),
        ),
      );
    } finally {
      racing = false;
      await watcher;
    }
    expect(responses.filter((r) => r.status !== 201 && r.status !== 202).map((r) => [r.status, r.body])).toEqual([]);
    const outcomes = await Promise.all(responses.map((r) => settled(admin, r)));
    expect(new Set(outcomes.map((t) => t.id)).size).toBe(100);

    const completed = outcomes.filter((t) => t.status === 'completed');
    const declined = outcomes.filter((t) => t.status === 'declined');
    expect(completed).toHaveLength(50);
    expect(declined).toHaveLength(50);
    expect(completed.every((t) => t.response_code === '1')).toBe(true);
    expect(declined.every((t) => t.response_code === '650' && t.source_entry === null)).toBe(true);

    expect(await balancesOf(admin, src.accountId)).toEqual({ posted: '0.00', pending: '0.00', available: '0.00' });
    expect(await balancesOf(admin, dst.accountId)).toEqual({ posted: '50.00', pending: '0.00', available: '50.00' });

    expect(observed.length).toBeGreaterThan(0);
    for (const b of observed) {
      for (const v of [b.posted, b.pending, b.available]) expect(new Decimal(v).isNegative()).toBe(false);
    }
    const srcEntries = (await allPages(admin, `/v1/accounts/${src.accountId}/entries?limit=100`)).items;
    expect(srcEntries).toHaveLength(51);
    expect(srcEntries.filter((e) => e.type === 'debit')).toHaveLength(50);
    expect(srcEntries.every((e) => !new Decimal(e.balance).isNegative())).toBe(true);
    expectRunningBalances(srcEntries);
    const dstEntries = (await allPages(admin, `/v1/accounts/${dst.accountId}/entries?limit=100`)).items;
    expect(dstEntries).toHaveLength(50);

    // Listing pages through transfers created within the same few milliseconds without gaps or repeats.
    const completedList = await allPages(admin, `/v1/transfers?account_id=${src.accountId}&status=completed&limit=7`);
    expect(completedList.pages).toBe(8);
    expect(completedList.items.map((t) => t.id).sort()).toEqual(completed.map((t) => t.id).sort());
    const everything = await allPages(admin, `/v1/transfers?account_id=${dst.accountId}&limit=9`);
    expect(everything.items).toHaveLength(100);
    expect(new Set(everything.items.map((t) => t.id)).size).toBe(100);

    const ids = outcomes.map((t) => t.id);
    expect(await count(app.db('ledger_transactions').whereIn('transfer_id', ids))).toBe(50);
    expect(await count(app.db('holds').whereIn('transfer_id', ids).where({ status: 'pending' }))).toBe(0);
    await expectLedgerInvariants(app.db);
  });
});
