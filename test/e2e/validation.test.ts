/**
 * End to end over HTTP: bad input is refused with a 4xx in the error envelope, never a 5xx,
 * and changes nothing: no transfer row (so no workflow), no entry, no hold, no balance moved.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Application } from '../../stack/application';
import {
  createKey,
  customerWithAccount,
  expectLedgerInvariants,
  httpClient,
  startTestApplication,
  type HttpClient,
  type HttpResponse,
} from '../support/harness';
import { balancesOf, count, expectErrorEnvelope, postTransfer, settled } from './helpers';

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

  /** Every list with a `limit`, and its largest one. */
  const lists = () => [
    { path: '/v1/transfers', max: 100 },
    { path: `/v1/accounts/${acct.usd1}/entries`, max: 100 },
    { path: '/v1/beneficiaries', max: 100 },
    { path: '/v1/compliance/holds', max: 200 },
    { path: '/v1/compliance/audit', max: 500 },
  ];

  test('a limit is plain decimal digits: 1e2, 0x10, " 5", +5, 5.0, 05 and the like are 422s on every list', async () => {
    // Each of these is a number to Number() (so z.coerce.number() took them), in another spelling than plain digits.
    const spellings = ['1e2', '1E1', '0x10', '0X1F', '0b11', '0o7', ' 5', '5 ', '\t5', '+5', '-0', '5.0', '5.', '.5', '05', '007', 'Infinity'];
    for (const { path, max } of lists()) {
      for (const limit of spellings) {
        const res = await expectRefused(() => admin.get(`${path}?limit=${encodeURIComponent(limit)}`), 422, 'invalid_value', '#/limit');
        expect(res.body.errors[0].message).toBe(`Must be a whole number from 1 to ${max} in plain decimal digits (no sign, exponent, decimal point, "0x", spaces or leading zeros)`);
      }
      for (const limit of ['abc', '', 'NaN', '1_0', encodeURIComponent('２')]) await expectRefused(() => admin.get(`${path}?limit=${limit}`), 422, 'invalid_type', '#/limit');
      await expectRefused(() => admin.get(`${path}?limit=1&limit=2`), 422, 'invalid_type', '#/limit');
      for (const limit of ['0', String(max + 1), '99999999999999999999999']) {
        const res = await expectRefused(() => admin.get(`${path}?limit=${limit}`), 422, 'invalid_value', '#/limit');
        expect(res.body.errors[0].message).toBe(`Must be from 1 to ${max}`);
      }
      // The plain spellings, at both ends and absent, are still fine.
      for (const query of ['?limit=1', `?limit=${max}`, '']) {
        const res = await admin.get(`${path}${query}`);
        seen.push(res.status);
        expect({ path, query, status: res.status }).toEqual({ path, query, status: 200 });
      }
    }
  });

  test('a cursor naming no row, or a row the caller may not see, is a 422 invalid_cursor, not an empty page', async () => {
    const cursor = (v: unknown) => encodeURIComponent(Buffer.from(JSON.stringify(v)).toString('base64url'));
    const createdAtOf = async (transferId: string) =>
      (
        await app.db('transfers').where({ id: transferId }).first(app.db.raw(`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`))
      ).at as string;

    // Two customers, each with a beneficiary and a transfer between its own two accounts.
    const setUp = async (name: string) => {
      const c = await customerWithAccount(admin, { currency: 'USD', deposit: '10.00', name });
      const second = await admin.post('/v1/accounts', { customer_id: c.customerId, currency: 'USD' });
      expect(second.status).toBe(201);
      const transfer = await settled(
        admin,
        await postTransfer(admin, { source_account_id: c.accountId, destination_account_id: second.body.id, source_amount: '1.00', reference: 'cursor test' }),
      );
      expect(transfer.status).toBe('completed');
      const ben = await admin.post('/v1/beneficiaries', {
        customer_id: c.customerId,
        name: `${name} payee`,
        country: 'GB',
        currency: 'USD',
        bank_details: { account_number: '12345678', bank_code: 'TESTGB22' },
      });
      expect(ben.status).toBe(201);
      const entry = await app.db('ledger_entries').where({ account_id: c.accountId }).orderBy('seq', 'desc').first('seq');
      const client = httpClient(app.url, await createKey(app.db, 'client', c.customerId));
      return { ...c, client, transferId: transfer.id as string, createdAt: await createdAtOf(transfer.id), beneficiaryId: ben.body.id as string, seq: String(entry.seq) };
    };
    const alice = await setUp('Cursor Alice');
    const bob = await setUp('Cursor Bob');

    // Cursors shaped like the API's, naming nothing.
    await expectRefused(() => admin.get(`/v1/transfers?cursor=${cursor({ created_at: '2024-01-01T00:00:00.000000Z', id: randomUUID() })}`), 422, 'invalid_cursor', '#/cursor');
    await expectRefused(() => admin.get(`/v1/beneficiaries?cursor=${cursor({ id: randomUUID() })}`), 422, 'invalid_cursor', '#/cursor');
    await expectRefused(() => admin.get(`/v1/accounts/${alice.accountId}/entries?cursor=${cursor({ seq: '9223372036854775807' })}`), 422, 'invalid_cursor', '#/cursor');
    // A real transfer id with another instant than its own is not a cursor the API issued.
    await expectRefused(() => admin.get(`/v1/transfers?cursor=${cursor({ created_at: '2024-01-01T00:00:00.000000Z', id: alice.transferId })}`), 422, 'invalid_cursor', '#/cursor');
    // An entry of another account is not a position in this account's entries (nor is the ledger's last seq a row of it).
    await expectRefused(() => admin.get(`/v1/accounts/${alice.accountId}/entries?cursor=${cursor({ seq: bob.seq })}`), 422, 'invalid_cursor', '#/cursor');

    // A client's key: a cursor naming another customer's row is answered as if the row did not exist.
    await expectRefused(() => alice.client.get(`/v1/transfers?cursor=${cursor({ created_at: bob.createdAt, id: bob.transferId })}`), 422, 'invalid_cursor', '#/cursor');
    await expectRefused(() => alice.client.get(`/v1/beneficiaries?cursor=${cursor({ id: bob.beneficiaryId })}`), 422, 'invalid_cursor', '#/cursor');
    await expectRefused(() => alice.client.get(`/v1/accounts/${alice.accountId}/entries?cursor=${cursor({ seq: bob.seq })}`), 422, 'invalid_cursor', '#/cursor');
    const unknown = await expectRefused(() => alice.client.get(`/v1/beneficiaries?cursor=${cursor({ id: randomUUID() })}`), 422, 'invalid_cursor', '#/cursor');
    const othersRow = await expectRefused(() => alice.client.get(`/v1/beneficiaries?cursor=${cursor({ id: bob.beneficiaryId })}`), 422, 'invalid_cursor', '#/cursor');
    expect(othersRow.body.errors).toEqual(unknown.body.errors);

    // Cursors naming the caller's own rows (as the API issues them) still page, for the client and for staff.
    for (const [client, path] of [
      [alice.client, `/v1/transfers?cursor=${cursor({ created_at: alice.createdAt, id: alice.transferId })}`],
      [alice.client, `/v1/beneficiaries?cursor=${cursor({ id: alice.beneficiaryId })}`],
      [alice.client, `/v1/accounts/${alice.accountId}/entries?cursor=${cursor({ seq: alice.seq })}`],
      [admin, `/v1/transfers?cursor=${cursor({ created_at: bob.createdAt, id: bob.transferId })}`],
      [admin, `/v1/beneficiaries?cursor=${cursor({ id: bob.beneficiaryId })}`],
    ] as const) {
      const res = await client.get(path);
      seen.push(res.status);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    // The page after Alice's newest entry is all her other entries, down to the deposit.
    const all = await alice.client.get(`/v1/accounts/${alice.accountId}/entries`);
    const older = await alice.client.get(`/v1/accounts/${alice.accountId}/entries?cursor=${cursor({ seq: alice.seq })}`);
    expect(all.body.data.length).toBeGreaterThanOrEqual(2);
    expect(older.body.data).toEqual(all.body.data.slice(1));
    expect(older.body.data.at(-1)).toMatchObject({ type: 'credit', amount: '10.00' });
    await expectLedgerInvariants(app.db);
  });
});

describe('the watch-list import', () => {
  /** A watch list of this test's own (screening reads every list: its names are made up, and deleted at the end). */
  const list = `VAL_${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;
  const entriesOf = () => count(app.db('watchlist_entries').where({ list }));
  afterAll(async () => {
    await app.db('watchlist_entries').where({ list }).delete();
  });

  test('a CSV with no watch-list entry in it is a 422 at #/csv naming the problem, and imports nothing', async () => {
    const refused = async (csv: string, message: RegExp) => {
      const res = await expectRefused(() => admin.post('/v1/compliance/watchlist/import', { list, csv }), 422, 'invalid_value', '#/csv');
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors[0].message).toMatch(message);
      expect(await entriesOf()).toBe(0);
    };
    const layout = /expected the OFAC SDN layout ent_num, SDN_Name, SDN_Type, Program, \.\.\./;
    // Another delimiter: every line is one column.
    await refused('9200001;QZVALTEST ONE;individual;SDGT\n9200002;QZVALTEST TWO;individual;SDGT\n', /^No row of the CSV is a watch-list entry: /);
    await refused('9200001;QZVALTEST ONE;individual;SDGT\n9200002;QZVALTEST TWO;individual;SDGT\n', /line 1: only 1 column, where ent_num and SDN_Name at least are expected \(and 1 more row with problems\)\.$/);
    await refused('9200001;QZVALTEST ONE\n', layout);
    // Another layout: names first.
    await refused('"QZVALTEST, One",9200001,individual\n"QZVALTEST, Two",9200002,individual\n', /line 1: ent_num "QZVALTEST, One" is not a number of at most 18 digits/);
    // Numbers without names.
    await refused('9200001,,individual,SDGT\r\n9200002,"  ",individual,SDGT\r\n', /line 1: SDN_Name: must not be empty \(and 1 more row with problems\)/);
    // No rows at all: blank lines, a header, the end-of-file mark.
    await refused('ent_num,SDN_Name,SDN_Type,Program\n\n   \n\u001a', /^The CSV has no rows: expected the OFAC SDN layout/);
    await refused('\n', /^The CSV has no rows/);
    // Not CSV at all.
    await refused('9200001,"QZVALTEST UNCLOSED, Quote,individual,SDGT\n', /^The CSV could not be read: .*quote/i);
  });

  test('a CSV with some rows that are not entries imports the others and names the skipped rows by line', async () => {
    const csv = [
      'ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks',
      '9200011,"QZVALTEST KORVELD, Amrith","individual","SDGT","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ","-0- "',
      '-0-,"QZVALTEST NOID, Ent","individual","SDGT"',
      '9200012,"","individual","SDGT"',
      '9200013',
      '9200014,"QZVALTEST BRANDOVIK SHIPPING","-0- ","CUBA"',
      '9200011,"QZVALTEST KORVELD, Again","individual","SDGT"',
      '\u001a',
    ].join('\r\n');
    const res = await admin.post('/v1/compliance/watchlist/import', { list, csv });
    seen.push(res.status);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      imported: 2,
      skipped: 4,
      skipped_rows: [
        { line: 3, reason: 'ent_num "-0-" is not a number of at most 18 digits' },
        { line: 4, reason: 'SDN_Name: must not be empty' },
        { line: 5, reason: 'only 1 column, where ent_num and SDN_Name at least are expected' },
        { line: 7, reason: 'ent_num 9200011 is already on line 2' },
      ],
    });
    const rows = await app.db('watchlist_entries').where({ list }).orderBy('external_id').select('external_id', 'name');
    expect(rows).toEqual([
      { external_id: '9200011', name: 'QZVALTEST KORVELD, Amrith' },
      { external_id: '9200014', name: 'QZVALTEST BRANDOVIK SHIPPING' },
    ]);
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
