/**
 * End to end over HTTP: bad input is refused with a 4xx in the error envelope, never a 5xx,
 * and changes nothing: no transfer row (so no workflow), no entry, no hold, no balance moved.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Application } from '../../src/application';
import {
  createKey,
  customerWithAccount,
  expectLedgerInvariants,
  httpClient,
  startTestApplication,
  type HttpClient,
  type HttpResponse,
} from '../support/harness';
import { balancesOf, count, expectErrorEnvelope, postTransfer } from './helpers';

let app: Application & { url: string };
let admin: HttpClient;
let adminKey: string;
/** Accounts the rejected requests name; none of them may ever change. */
const acct = { usd1: '', usd2: '', jpy1: '', jpy2: '', kwd1: '', eur1: '', usdFunding: '' };
let baseline: Awaited<ReturnType<typeof snapshot>>;

/** The file's own customer accounts (the funding account is shared by every deposit in the database). */
async function snapshot() {
  const ids = [acct.usd1, acct.usd2, acct.jpy1, acct.jpy2, acct.kwd1, acct.eur1];
  const accounts = await app.db('accounts').whereIn('id', ids).orderBy('id').select('id', 'posted', 'pending', 'status');
  return {
    accounts,
    transfers: await count(app.db('transfers').whereIn('source_account_id', ids).orWhereIn('destination_account_id', ids)),
    entries: await count(app.db('ledger_entries').whereIn('account_id', ids)),
    holds: await count(app.db('holds').whereIn('account_id', ids)),
  };
}

beforeAll(async () => {
  app = await startTestApplication();
  adminKey = await createKey(app.db, 'admin');
  admin = httpClient(app.url, adminKey);
  acct.usd1 = (await customerWithAccount(admin, { currency: 'USD', deposit: '100.00' })).accountId;
  acct.usd2 = (await customerWithAccount(admin, { currency: 'USD', deposit: '5.00' })).accountId;
  acct.jpy1 = (await customerWithAccount(admin, { currency: 'JPY', deposit: '1000' })).accountId;
  acct.jpy2 = (await customerWithAccount(admin, { currency: 'JPY' })).accountId;
  acct.kwd1 = (await customerWithAccount(admin, { currency: 'KWD', deposit: '1.000' })).accountId;
  acct.eur1 = (await customerWithAccount(admin, { currency: 'EUR', deposit: '10.00' })).accountId;
  const funding = await app.db('accounts').where({ kind: 'system', system_purpose: 'funding', currency: 'USD' }).first('id');
  acct.usdFunding = funding.id;
  baseline = await snapshot();
});

afterAll(async () => {
  await app?.stop();
});

/** Every status any request in this file got: none may be a 5xx. */
const seen: number[] = [];

/** Sends with a fresh Idempotency-Key, checks the envelope, then that nothing changed. */
async function expectRefused(send: (key: string) => Promise<HttpResponse>, status: number, errorCode: string, path?: string | null) {
  const key = randomUUID();
  const res = await send(key);
  seen.push(res.status);
  expect(res.status).toBeLessThan(500);
  expectErrorEnvelope(res, status, errorCode, path);
  expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(0);
  expect(await snapshot()).toEqual(baseline);
  return res;
}

const valid = () => ({
  source_account_id: acct.usd1,
  destination_account_id: acct.usd2,
  source_amount: '1.00',
  reference: 'valid ref',
});

const rawTransfer = (raw: string, contentType = 'application/json') => (key: string) =>
  admin.request('POST', '/v1/transfers', { raw, headers: { 'content-type': contentType, 'idempotency-key': key } });

describe('the request body', () => {
  test('malformed JSON is a 400 malformed_json', async () => {
    const res = await expectRefused(rawTransfer('{"source_account_id": "'), 400, 'malformed_json', null);
    expect(res.body.code).toBe('400 Bad Request');
    await expectRefused(rawTransfer('{"a": 1,}'), 400, 'malformed_json');
    // strict JSON: only objects and arrays at the top level
    await expectRefused(rawTransfer('"just a string"'), 400, 'malformed_json');
    await expectRefused(rawTransfer('null'), 400, 'malformed_json');
    await expectRefused(rawTransfer('{}garbage'), 400, 'malformed_json');
    await expectLedgerInvariants(app.db);
  });

  test('a body that is not application/json is a 415', async () => {
    const res = await expectRefused(rawTransfer(JSON.stringify(valid()), 'text/plain'), 415, 'unsupported_media_type');
    expect(res.body.code).toBe('415 Unsupported Media Type');
    await expectRefused(rawTransfer('source_amount=1.00&reference=x', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type');
    await expectLedgerInvariants(app.db);
  });

  test('a body over 64 KiB is a 413', async () => {
    const big = JSON.stringify({ ...valid(), description: 'x'.repeat(70 * 1024) });
    const res = await expectRefused(rawTransfer(big), 413, 'body_too_large');
    expect(res.body.code).toBe('413 Payload Too Large');
    await expectLedgerInvariants(app.db);
  });

  test('a body that does not decode as its Content-Encoding or charset says is a 400 or 415', async () => {
    const encoded = (encoding: string, raw: string) => (key: string) =>
      admin.request('POST', '/v1/transfers', { raw, headers: { 'content-type': 'application/json', 'content-encoding': encoding, 'idempotency-key': key } });
    await expectRefused(encoded('gzip', JSON.stringify(valid())), 400, 'malformed_json', null);
    await expectRefused(encoded('deflate', JSON.stringify(valid())), 400, 'malformed_json', null);
    await expectRefused(encoded('br', JSON.stringify(valid())), 400, 'malformed_json', null);
    await expectRefused(encoded('compress', JSON.stringify(valid())), 415, 'unsupported_media_type');
    await expectRefused(rawTransfer(JSON.stringify(valid()), 'application/json; charset=bogus'), 415, 'unsupported_media_type');
    // Small on the wire, over the limit once inflated.
    await expectRefused(
      async (key) => {
        const res = await fetch(`${app.url}/v1/transfers`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', 'content-encoding': 'gzip', 'idempotency-key': key },
          body: gzipSync(JSON.stringify({ ...valid(), description: 'x'.repeat(1_000_000) })),
        });
        return { status: res.status, body: await res.json(), headers: res.headers };
      },
      413,
      'body_too_large',
    );
    await expectLedgerInvariants(app.db);
  });

  test('a JSON value that is not an object is a 422', async () => {
    await expectRefused(rawTransfer('[]'), 422, 'invalid_type', null);
    await expectRefused(rawTransfer('[{"source_amount": "1.00"}]'), 422, 'invalid_type', null);
    await expectLedgerInvariants(app.db);
  });
});

type Case = [name: string, body: () => Record<string, unknown>, errorCode: string, path: string | null];

const fieldCases: Case[] = [
  ['an unknown field', () => ({ ...valid(), foo: 'bar' }), 'unknown_field', '#/foo'],
  ['the amount as a JSON number', () => ({ ...valid(), source_amount: 10 }), 'invalid_type', '#/source_amount'],
  ['the amount as an object', () => ({ ...valid(), source_amount: { amount: '1.00' } }), 'invalid_type', '#/source_amount'],
  ['a negative amount', () => ({ ...valid(), source_amount: '-1.00' }), 'invalid_amount', '#/source_amount'],
  ['a zero amount', () => ({ ...valid(), source_amount: '0' }), 'amount_not_positive', '#/source_amount'],
  ['a zero amount with decimals', () => ({ ...valid(), source_amount: '0.00' }), 'amount_not_positive', '#/source_amount'],
  ['an exponent', () => ({ ...valid(), source_amount: '1e3' }), 'invalid_amount', '#/source_amount'],
  ['a sign', () => ({ ...valid(), source_amount: '+1.00' }), 'invalid_amount', '#/source_amount'],
  ['spaces', () => ({ ...valid(), source_amount: ' 1.00' }), 'invalid_amount', '#/source_amount'],
  ['a trailing point', () => ({ ...valid(), source_amount: '1.' }), 'invalid_amount', '#/source_amount'],
  ['no integer part', () => ({ ...valid(), source_amount: '.50' }), 'invalid_amount', '#/source_amount'],
  ['a leading zero', () => ({ ...valid(), source_amount: '01.00' }), 'invalid_amount', '#/source_amount'],
  ['a decimal comma', () => ({ ...valid(), source_amount: '1,00' }), 'invalid_amount', '#/source_amount'],
  ['an empty amount', () => ({ ...valid(), source_amount: '' }), 'invalid_amount', '#/source_amount'],
  ['NaN', () => ({ ...valid(), source_amount: 'NaN' }), 'invalid_amount', '#/source_amount'],
  ['Infinity', () => ({ ...valid(), source_amount: 'Infinity' }), 'invalid_amount', '#/source_amount'],
  ['hexadecimal', () => ({ ...valid(), source_amount: '0x10' }), 'invalid_amount', '#/source_amount'],
  ['an amount too large', () => ({ ...valid(), source_amount: '1000000000000000.00' }), 'amount_too_large', '#/source_amount'],
  ['a 65-character amount', () => ({ ...valid(), source_amount: '1'.repeat(65) }), 'invalid_value', '#/source_amount'],
  ['3 decimals in USD', () => ({ ...valid(), source_amount: '0.001' }), 'too_many_decimals', '#/source_amount'],
  ['3 decimals in USD, as target_amount', () => ({ ...valid(), source_amount: undefined, target_amount: '1.001' }), 'too_many_decimals', '#/target_amount'],
  ['decimals in JPY', () => ({ ...valid(), source_account_id: acct.jpy1, destination_account_id: acct.jpy2, source_amount: '1.5' }), 'too_many_decimals', '#/source_amount'],
  ['a zero fraction in JPY', () => ({ ...valid(), source_account_id: acct.jpy1, destination_account_id: acct.jpy2, source_amount: '1.0' }), 'too_many_decimals', '#/source_amount'],
  ['4 decimals in KWD', () => ({ ...valid(), source_account_id: acct.kwd1, destination_account_id: acct.kwd1, source_amount: '0.0001' }), 'too_many_decimals', '#/source_amount'],
  ['both amounts', () => ({ ...valid(), target_amount: '1.00' }), 'invalid_value', '#/source_amount'],
  ['neither amount', () => ({ ...valid(), source_amount: undefined }), 'invalid_value', '#/source_amount'],
  ['a reference over 18 characters', () => ({ ...valid(), reference: 'r'.repeat(19) }), 'invalid_value', '#/reference'],
  ['a reference with bad characters', () => ({ ...valid(), reference: 'pay; drop table' }), 'invalid_value', '#/reference'],
  ['a reference with non-ASCII letters', () => ({ ...valid(), reference: 'café' }), 'invalid_value', '#/reference'],
  ['an empty reference', () => ({ ...valid(), reference: '' }), 'invalid_value', '#/reference'],
  ['a reference that is a number', () => ({ ...valid(), reference: 12345 }), 'invalid_type', '#/reference'],
  ['no reference', () => ({ ...valid(), reference: undefined }), 'missing_field', '#/reference'],
  ['metadata with a number value', () => ({ ...valid(), metadata: { order: 1 } }), 'invalid_type', '#/metadata/order'],
  ['metadata with an object value', () => ({ ...valid(), metadata: { order: { id: 'x' } } }), 'invalid_type', '#/metadata/order'],
  ['metadata with a null value', () => ({ ...valid(), metadata: { order: null } }), 'invalid_type', '#/metadata/order'],
  ['metadata that is a string', () => ({ ...valid(), metadata: 'order=1' }), 'invalid_type', '#/metadata'],
  ['metadata that is an array', () => ({ ...valid(), metadata: ['a'] }), 'invalid_type', '#/metadata'],
  ['a description over 255 characters', () => ({ ...valid(), description: 'd'.repeat(256) }), 'invalid_value', '#/description'],
  ['an empty external_id', () => ({ ...valid(), external_id: '' }), 'invalid_value', '#/external_id'],
  // Postgres cannot store NUL or a lone UTF-16 surrogate: refused up front instead of failing with a 500.
  ['a description with a NUL character', () => ({ ...valid(), description: 'a\u0000b' }), 'invalid_value', '#/description'],
  ['an external_id with a lone surrogate', () => ({ ...valid(), external_id: 'x\ud800' }), 'invalid_value', '#/external_id'],
  ['a metadata value with a NUL character', () => ({ ...valid(), metadata: { k: '\u0000' } }), 'invalid_value', '#/metadata/k'],
  ['an unknown source account', () => ({ ...valid(), source_account_id: randomUUID() }), 'account_not_found', '#/source_account_id'],
  ['an unknown destination account', () => ({ ...valid(), destination_account_id: randomUUID() }), 'account_not_found', '#/destination_account_id'],
  ['a system (funding) account as source', () => ({ ...valid(), source_account_id: acct.usdFunding }), 'account_not_found', '#/source_account_id'],
  ['a system (funding) account as destination', () => ({ ...valid(), destination_account_id: acct.usdFunding }), 'account_not_found', '#/destination_account_id'],
  ['a source account id that is not a UUID', () => ({ ...valid(), source_account_id: 'acct_123' }), 'invalid_value', '#/source_account_id'],
  ['a destination account id that is not a UUID', () => ({ ...valid(), destination_account_id: "1' OR '1'='1" }), 'invalid_value', '#/destination_account_id'],
  ['no source account', () => ({ ...valid(), source_account_id: undefined }), 'missing_field', '#/source_account_id'],
  // Pricing fields (seeds 002/003): each checked before anything is written.
  ['an fx_rate between accounts of one currency', () => ({ ...valid(), fx_rate: '1.1' }), 'fx_rate_not_applicable', '#/fx_rate'],
  ['an fx_rate of zero', () => ({ ...valid(), destination_account_id: acct.eur1, fx_rate: '0' }), 'invalid_value', '#/fx_rate'],
  ['an fx_rate in exponent notation', () => ({ ...valid(), destination_account_id: acct.eur1, fx_rate: '1e3' }), 'invalid_value', '#/fx_rate'],
  ['a target_amount with more decimals than the target currency (JPY)', () => ({ ...valid(), source_amount: undefined, destination_account_id: acct.jpy1, target_amount: '1.5' }), 'too_many_decimals', '#/target_amount'],
  ['an override of a fee the operation does not have', () => ({ ...valid(), override_fees: [{ type: 'account_to_account_fx_spread', percentage: '1' }] }), 'invalid_fee_override', '#/override_fees/0/type'],
  ['a fixed fee override in another currency', () => ({ ...valid(), override_fees: [{ type: 'account_to_account', fixed: { amount: '1.00', currency: 'EUR' } }] }), 'invalid_fee_override', '#/override_fees/0/fixed/currency'],
  ['a spread override of 100%', () => ({ ...valid(), destination_account_id: acct.eur1, override_fees: [{ type: 'account_to_account_fx_spread', percentage: '100' }] }), 'invalid_fee_override', '#/override_fees/0/percentage'],
  ['an unknown quote_id', () => ({ ...valid(), quote_id: '00000000-0000-4000-8000-000000000000' }), 'quote_not_found', '#/quote_id'],
];

describe('transfer fields', () => {
  test.each(fieldCases)('%s is refused', async (_name, body, errorCode, path) => {
    await expectRefused((key) => postTransfer(admin, body(), key), 422, errorCode, path);
    await expectLedgerInvariants(app.db);
  });

  test('every problem in a body is reported, each with its path', async () => {
    const res = await expectRefused(
      (key) => postTransfer(admin, { source_account_id: 'x', destination_account_id: acct.usd2, source_amount: 5, reference: 'r'.repeat(30), foo: 1 }, key),
      422,
      'invalid_value',
    );
    expect(res.body.code).toBe('422 Unprocessable Entity');
    expect(res.body.message).toBe('Validation errors');
    expect(res.body.errors.map((e: any) => [e.error_code, e.path]).sort()).toEqual(
      [
        ['invalid_value', '#/source_account_id'],
        ['invalid_type', '#/source_amount'],
        ['invalid_value', '#/reference'],
        ['unknown_field', '#/foo'],
      ].sort(),
    );
    await expectLedgerInvariants(app.db);
  });

  test('the Idempotency-Key header must be present and printable ASCII', async () => {
    await expectRefused(() => postTransfer(admin, valid(), null), 422, 'idempotency_key_missing', 'header/Idempotency-Key');
    await expectRefused(() => postTransfer(admin, valid(), 'has spaces in it'), 422, 'invalid_value', 'header/Idempotency-Key');
    await expectRefused(() => postTransfer(admin, valid(), 'k'.repeat(256)), 422, 'invalid_value', 'header/Idempotency-Key');
    await expectLedgerInvariants(app.db);
  });

  test('the valid body these cases start from is accepted (on other accounts)', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '2.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const res = await postTransfer(admin, { ...valid(), source_account_id: a.accountId, destination_account_id: b.accountId });
    seen.push(res.status);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'completed', source_amount: { amount: '1.00', currency: 'USD' } });
    expect(await snapshot()).toEqual(baseline);
    await expectLedgerInvariants(app.db);
  });

  test('values at the limits are accepted (on other accounts)', async () => {
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '1.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${i}`.padStart(64, 'k'), 'v'.repeat(500)]));
    const body = {
      source_account_id: a.accountId,
      destination_account_id: b.accountId,
      source_amount: '0.01',
      reference: 'Ab 9_-Ab 9_-Ab 9_-',
      description: 'd'.repeat(255),
      external_id: 'e'.repeat(255),
      metadata,
    };
    expect(JSON.stringify(body).length).toBeLessThan(64 * 1024);
    const res = await postTransfer(admin, body, 'K'.repeat(255));
    seen.push(res.status);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'completed', reference: 'Ab 9_-Ab 9_-Ab 9_-', source_amount: { amount: '0.01' }, metadata });
    expect(await snapshot()).toEqual(baseline);
    await expectLedgerInvariants(app.db);
  });
});

describe('routes, ids and queries', () => {
  test('an unknown route is a 404 in the envelope', async () => {
    const res = await expectRefused(() => admin.get('/v1/nope'), 404, 'not_found');
    expect(res.body.code).toBe('404 Not Found');
    await expectRefused(() => admin.post('/v1/nope', { a: 1 }), 404, 'not_found');
    await expectRefused(() => admin.get('/nope', { key: null }), 404, 'not_found');
    await expectRefused(() => admin.request('DELETE', `/v1/accounts/${acct.usd1}`), 404, 'not_found');
    await expectRefused(() => admin.request('PUT', '/v1/transfers', { body: valid() }), 404, 'not_found');
    await expectLedgerInvariants(app.db);
  });

  test('ids that are not UUIDs, or name nothing, are 404s', async () => {
    await expectRefused(() => admin.get('/v1/transfers/not-a-uuid'), 404, 'not_found');
    await expectRefused(() => admin.get(`/v1/transfers/${randomUUID()}`), 404, 'not_found');
    await expectRefused(() => admin.get('/v1/accounts/123'), 404, 'not_found');
    // Not even valid percent-encoding
    await expectRefused(() => admin.get('/v1/accounts/%ZZ'), 404, 'not_found');
    await expectRefused(() => admin.get('/v1/transfers/%E0%A4%A'), 404, 'not_found');
    await expectRefused(() => admin.get('/v1/customers/%'), 404, 'not_found');
    await expectRefused(() => admin.get(`/v1/accounts/${randomUUID()}/entries`), 404, 'not_found');
    await expectRefused(() => admin.get(`/v1/accounts/${acct.usdFunding}`), 404, 'not_found');
    await expectRefused(() => admin.get(`/v1/customers/${randomUUID()}`), 404, 'not_found');
    await expectRefused(() => admin.post(`/v1/accounts/${randomUUID()}/deposits`, { amount: '1.00', reference: 'x' }), 404, 'not_found');
    await expectLedgerInvariants(app.db);
  });

  test('bad list queries and cursors are 422s', async () => {
    await expectRefused(() => admin.get('/v1/transfers?status=bogus'), 422, 'invalid_value', '#/status');
    await expectRefused(() => admin.get('/v1/transfers?limit=0'), 422, 'invalid_value', '#/limit');
    await expectRefused(() => admin.get('/v1/transfers?limit=101'), 422, 'invalid_value', '#/limit');
    await expectRefused(() => admin.get('/v1/transfers?limit=abc'), 422, 'invalid_type', '#/limit');
    await expectRefused(() => admin.get('/v1/transfers?account_id=nope'), 422, 'invalid_value', '#/account_id');
    await expectRefused(() => admin.get('/v1/transfers?foo=1'), 422, 'unknown_field', '#/foo');
    await expectRefused(() => admin.get('/v1/transfers?cursor=garbage'), 422, 'invalid_cursor', '#/cursor');
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    await expectRefused(() => admin.get(`/v1/transfers?cursor=${cursor({ created_at: 'x', id: 'y' })}`), 422, 'invalid_cursor');
    // Shaped like the cursors the API issues, but not instants Postgres can compare with
    for (const createdAt of ['2024-13-45T25:61:61.000000Z', '2024-02-30T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z']) {
      await expectRefused(() => admin.get(`/v1/transfers?cursor=${cursor({ created_at: createdAt, id: randomUUID() })}`), 422, 'invalid_cursor', '#/cursor');
    }
    // Beyond a bigint
    await expectRefused(() => admin.get(`/v1/accounts/${acct.usd1}/entries?cursor=${cursor({ seq: '9999999999999999999' })}`), 422, 'invalid_cursor', '#/cursor');
    await expectRefused(() => admin.get(`/v1/accounts/${acct.usd1}/entries?cursor=garbage`), 422, 'invalid_cursor', '#/cursor');
    await expectRefused(() => admin.get(`/v1/accounts/${acct.usd1}/entries?cursor=${cursor({ seq: '-1' })}`), 422, 'invalid_cursor');
    await expectRefused(() => admin.get(`/v1/accounts/${acct.usd1}/entries?limit=-5`), 422, 'invalid_value', '#/limit');
    await expectLedgerInvariants(app.db);
  });

  test('bad deposits are refused and move nothing', async () => {
    const dep = (body: unknown) => () => admin.post(`/v1/accounts/${acct.usd1}/deposits`, body);
    await expectRefused(dep({ amount: 5, reference: 'x' }), 422, 'invalid_type', '#/amount');
    await expectRefused(dep({ amount: '-5.00', reference: 'x' }), 422, 'invalid_amount', '#/amount');
    await expectRefused(dep({ amount: '0.001', reference: 'x' }), 422, 'too_many_decimals', '#/amount');
    await expectRefused(dep({ amount: '1.00', reference: 'x', extra: true }), 422, 'unknown_field', '#/extra');
    await expectRefused(() => admin.post(`/v1/accounts/${acct.jpy1}/deposits`, { amount: '1.5', reference: 'x' }), 422, 'too_many_decimals', '#/amount');
    await expectLedgerInvariants(app.db);
  });
});

describe('no 5xx for hostile input', () => {
  const hostile: Array<[string, string]> = [
    ['__proto__ key', `{"__proto__": {"polluted": "yes"}, "source_account_id": "${randomUUID()}"}`],
    ['constructor key', '{"constructor": {"prototype": {"x": 1}}}'],
    ['deeply nested', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['deeply nested object', `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`],
    ['huge number', `{"source_amount": 1${'0'.repeat(400)}}`],
    ['NUL in a string', '{"reference": "a\\u0000b", "source_amount": "1.00\\u0000"}'],
    ['lone surrogate', '{"reference": "\\ud800"}'],
    ['duplicate keys', '{"source_amount": "1.00", "source_amount": 5}'],
    ['empty object', '{}'],
    ['metadata with 51 keys', JSON.stringify({ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) })],
    ['metadata key too long', JSON.stringify({ metadata: { ['k'.repeat(65)]: 'v' } })],
    ['metadata value too long', JSON.stringify({ metadata: { k: 'v'.repeat(501) } })],
    ['true', 'true'],
    ['number', '42'],
  ];

  test.each(hostile)('%s gets a 4xx envelope and changes nothing', async (_name, raw) => {
    const key = randomUUID();
    const res = await rawTransfer(raw)(key);
    seen.push(res.status);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expectErrorEnvelope(res, res.status, res.body?.errors?.[0]?.error_code);
    expect(await count(app.db('transfers').where({ idempotency_key: key }))).toBe(0);
    expect(await snapshot()).toEqual(baseline);
    await expectLedgerInvariants(app.db);
  });

  test('nothing in this file was answered with a 5xx, and every account is as it was', async () => {
    expect(seen.length).toBeGreaterThan(fieldCases.length + hostile.length);
    expect(seen.filter((s) => s >= 500)).toEqual([]);
    expect(await balancesOf(admin, acct.usd1)).toEqual({ posted: '100.00', pending: '0.00', available: '100.00' });
    expect(await balancesOf(admin, acct.usd2)).toEqual({ posted: '5.00', pending: '0.00', available: '5.00' });
    expect(await balancesOf(admin, acct.jpy1)).toEqual({ posted: '1000', pending: '0', available: '1000' });
    expect(await balancesOf(admin, acct.kwd1)).toEqual({ posted: '1.000', pending: '0.000', available: '1.000' });
    expect(await snapshot()).toEqual(baseline);
    await expectLedgerInvariants(app.db);
  });
});
