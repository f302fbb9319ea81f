/**
 * End to end over HTTP: cross-currency pricing (seeds 002/003). Market rates and their inverses,
 * spreads, tariffs and the fee calculator, locked quotes, stale and missing rates, admin overrides,
 * and cross-currency transfers booked through the fee, spread and FX position accounts.
 *
 * Rounding: the computed side of a conversion is rounded in the house's favour (a computed target
 * down, a computed source up, to the currency's minor units); fees and the spread fee round half away
 * from zero.
 *
 * Rates, spreads and tariffs are global and other test files run against the same database at the
 * same time: this file uses only its own pairs, tariffs only in COP, MXN, BHD and KWD, never the
 * default spread, and checks shared system accounts (USD, EUR, JPY, GBP) by their change net of
 * other transactions' entries.
 */
import { randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import type { Application } from '../../stack/application';
import {
  createKey,
  customerWithAccount,
  expectLedgerInvariants,
  httpClient,
  startTestApplication,
  type HttpClient,
} from '../support/harness';
import { balancesOf, count, expectErrorEnvelope, ISO_RE, postTransfer, settled, UUID_RE } from './helpers';

/** Exact decimals for the expected values; 40 digits, like src/money. */
const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
type D = Decimal;
/** Fees and the spread fee: half away from zero. */
const roundTo = (v: Decimal.Value, dp: number): D => new D(v).toDecimalPlaces(dp, Decimal.ROUND_HALF_UP);
/** A computed target (what the client receives): toward zero. */
const roundDown = (v: Decimal.Value, dp: number): D => new D(v).toDecimalPlaces(dp, Decimal.ROUND_DOWN);
/** A computed source (what the client pays): away from zero. */
const roundUp = (v: Decimal.Value, dp: number): D => new D(v).toDecimalPlaces(dp, Decimal.ROUND_UP);

const UNITS: Record<string, number> = { USD: 2, EUR: 2, GBP: 2, COP: 2, MXN: 2, JPY: 0, KWD: 3, BHD: 3 };
const units = (ccy: string): number => {
  const u = UNITS[ccy.trim()];
  if (u === undefined) throw new Error(`no minor units for ${ccy}`);
  return u;
};
/** Currencies only this file posts in: their system accounts are asserted without allowing for other files. */
const OWN_CURRENCIES = new Set(['COP', 'MXN', 'BHD', 'KWD']);
const FEE_ID_RE = /^fee_[A-Za-z0-9_-]{22}$/;
const SPREAD = 'account_to_account_fx_spread';

let app: Application & { url: string };
let admin: HttpClient;

beforeAll(async () => {
  app = await startTestApplication();
  admin = httpClient(app.url, await createKey(app.db, 'admin'));
});

afterAll(async () => {
  await app?.stop();
});

// ---------------------------------------------------------------------------------------------
// Fixtures

const put = (client: HttpClient, path: string, body: unknown) => client.request('PUT', path, { body });
const del = (client: HttpClient, path: string) => client.request('DELETE', path);

async function putRate(base: string, quote: string, rate: string, asOf?: Date) {
  const res = await put(admin, `/v1/fx/rates/${base}/${quote}`, asOf ? { rate, as_of: asOf.toISOString() } : { rate });
  expect(res.status).toBe(200);
  return res.body;
}

async function putSpread(source: string, target: string, percentage: string) {
  const res = await put(admin, `/v1/fx/spreads/${source}/${target}`, { percentage });
  expect(res.status).toBe(200);
}

type RangeInput = { min_amount: string; max_amount: string | null; [k: string]: unknown };
const range = (min: string, max: string | null, extra: Record<string, unknown> = {}): RangeInput => ({ min_amount: min, max_amount: max, ...extra });

/** Creates the operation's tariff for a currency of this file's own, or replaces its ranges. */
async function setTariff(operation: string, currency: string, ranges: RangeInput[]) {
  if (!OWN_CURRENCIES.has(currency)) throw new Error(`tariffs only in this file's own currencies, not ${currency}`);
  const existing = await app.db('tariffs').where({ operation, currency }).first('id');
  const res = existing ? await put(admin, `/v1/tariffs/${existing.id}`, { ranges }) : await admin.post('/v1/tariffs', { operation, currency, ranges });
  expect(res.status).toBe(existing ? 200 : 201);
  return res.body;
}

async function removeTariff(operation: string, currency: string) {
  const existing = await app.db('tariffs').where({ operation, currency }).first('id');
  if (existing) expect((await del(admin, `/v1/tariffs/${existing.id}`)).status).toBe(204);
}

/**
 * COP → USD pricing used by several tests: 1 USD = 4000 COP, a 1% COP/USD spread (fx_rate 4040)
 * and a fixed COP fee of 2500.00 for account_to_account_fx.
 */
async function copWorld() {
  await putRate('USD', 'COP', '4000');
  await putSpread('COP', 'USD', '1');
  await setTariff('account_to_account_fx', 'COP', [range('0', null, { fixed_amount: '2500.00' })]);
}

async function clientFor(customerId: string): Promise<HttpClient> {
  return httpClient(app.url, await createKey(app.db, 'client', customerId));
}

async function addAccount(customerId: string, currency: string, deposit?: string): Promise<string> {
  const res = await admin.post('/v1/accounts', { customer_id: customerId, currency });
  expect(res.status).toBe(201);
  if (deposit) expect((await admin.post(`/v1/accounts/${res.body.id}/deposits`, { amount: deposit, reference: 'seed' })).status).toBe(201);
  return res.body.id;
}

const posted = (amount: string) => {
  const zero = new D(0).toFixed(amount.split('.')[1]?.length ?? 0);
  return { posted: amount, pending: zero, available: amount };
};

// ---------------------------------------------------------------------------------------------
// System accounts, ledger entries, trial balance

type Purpose = 'fee_revenue' | 'spread_revenue' | 'fx_position';
type SystemSnapshot = { purpose: Purpose; currency: string; id: string; posted: string; entryIds: Set<string> };

/** The fee, spread and FX position accounts a transfer from `src` to `tgt` posts to, read in one snapshot. */
async function snapshotSystem(src: string, tgt: string): Promise<SystemSnapshot[]> {
  const wanted: Array<[Purpose, string]> = [
    ['fee_revenue', src],
    ['spread_revenue', src],
    ['fx_position', src],
    ['fx_position', tgt],
  ];
  return app.db.transaction(
    async (trx) => {
      const out: SystemSnapshot[] = [];
      for (const [purpose, currency] of wanted) {
        const acc = await trx('accounts').where({ kind: 'system', system_purpose: purpose, currency }).first('id', 'posted');
        expect(acc).toBeDefined();
        const ids = (await trx('ledger_entries').where({ account_id: acc.id }).pluck('id')) as string[];
        out.push({ purpose, currency, id: acc.id, posted: acc.posted, entryIds: new Set(ids) });
      }
      return out;
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

/**
 * How much each system account's posted balance moved since the snapshot, net of entries other
 * transactions (other test files, concurrently) added meanwhile. In this file's own currencies
 * nobody else posts: there the foreign part must be empty and the delta is the plain difference.
 */
async function systemDeltas(before: SystemSnapshot[], transactionId: string): Promise<Record<string, string>> {
  return app.db.transaction(
    async (trx) => {
      const out: Record<string, string> = {};
      for (const s of before) {
        const acc = await trx('accounts').where({ id: s.id }).first('posted');
        const added = (await trx('ledger_entries').where({ account_id: s.id })).filter((e: any) => !s.entryIds.has(e.id));
        const foreign = added.filter((e: any) => e.transaction_id !== transactionId);
        if (OWN_CURRENCIES.has(s.currency)) expect({ account: `${s.purpose} ${s.currency}`, foreign: foreign.length }).toEqual({ account: `${s.purpose} ${s.currency}`, foreign: 0 });
        const foreignSum = foreign.reduce((sum: D, e: any) => sum.plus(e.amount), new D(0));
        out[`${s.purpose} ${s.currency}`] = new D(acc.posted).minus(s.posted).minus(foreignSum).toFixed(units(s.currency));
      }
      return out;
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

const systemId = async (purpose: Purpose, currency: string): Promise<string> =>
  (await app.db('accounts').where({ kind: 'system', system_purpose: purpose, currency }).first('id')).id;

/**
 * Recomputes the transfer's money from its recorded price and matches every entry of its ledger
 * transaction: source −S; fee revenue +F and spread revenue +SP (source currency); FX position
 * +(S−F−SP) in the source currency and −T in the target currency; destination +T; zero legs absent.
 */
async function expectEntriesExplained(transferId: string, given: 'source' | 'target') {
  const t = await app.db('transfers').where({ id: transferId }).first();
  expect(t.status).toBe('completed');
  const src = t.source_currency.trim();
  const tgt = t.target_currency.trim();
  const [su, tu] = [units(src), units(tgt)];
  const S = new D(t.source_amount);
  const T = new D(t.target_amount);
  const F = new D(t.fixed_fee);
  const SP = new D(t.spread_fee);
  const fx = new D(t.fx_rate);
  const market = new D(t.market_rate);

  // The recorded numbers obey seed 002's formulas, the computed side rounded in the house's favour:
  // given the source, T = (S − F) / fx rounded down; given the target, S = (T × fx rounded up) + F.
  if (given === 'source') expect(T.toFixed(tu)).toBe(roundDown(S.minus(F).div(fx), tu).toFixed(tu));
  else expect(S.toFixed(su)).toBe(roundUp(T.times(fx), su).plus(F).toFixed(su));
  // The spread fee is a fee: half away from zero, never negative, never more than S − F.
  const rawSpread = roundTo(T.times(fx.minus(market)), su);
  expect(SP.toFixed(su)).toBe(D.min(D.max(rawSpread, 0), S.minus(F)).toFixed(su));
  expect(t.calculated_fees[t.operation_type].amount).toEqual({ amount: F.toFixed(su), currency: src });
  if (src !== tgt) expect(t.calculated_fees[SPREAD].amount).toEqual({ amount: SP.toFixed(su), currency: src });

  const legs: Array<[string, string, D]> = [
    [t.source_account_id, src, S.neg()],
    [await systemId('fee_revenue', src), src, F],
    [await systemId('spread_revenue', src), src, SP],
  ];
  if (src !== tgt) legs.push([await systemId('fx_position', src), src, S.minus(F).minus(SP)], [await systemId('fx_position', tgt), tgt, T.neg()]);
  legs.push([t.destination_account_id, tgt, T]);
  const norm = (rows: Array<[string, string, Decimal.Value]>) => rows.map(([a, c, amt]) => `${a} ${c} ${new D(amt).toFixed(units(c))}`).sort();

  const entries = await app.db('ledger_entries').where({ transaction_id: t.ledger_transaction_id });
  expect(norm(entries.map((e: any) => [e.account_id, e.currency.trim(), e.amount]))).toEqual(
    norm(legs.filter(([, , amount]) => !amount.isZero()).map(([a, c, amt]) => [a, c, amt])),
  );
  expect(await count(app.db('ledger_transactions').where({ transfer_id: transferId }))).toBe(1);
  return { t, S, T, F, SP, entries };
}

/** A completed cross-currency transfer's entries and the system accounts' moves, against the snapshot taken before it. */
async function expectBooked(transferId: string, given: 'source' | 'target', before: SystemSnapshot[]) {
  const x = await expectEntriesExplained(transferId, given);
  const src = x.t.source_currency.trim();
  const tgt = x.t.target_currency.trim();
  expect(await systemDeltas(before, x.t.ledger_transaction_id)).toEqual({
    [`fee_revenue ${src}`]: x.F.toFixed(units(src)),
    [`spread_revenue ${src}`]: x.SP.toFixed(units(src)),
    [`fx_position ${src}`]: x.S.minus(x.F).minus(x.SP).toFixed(units(src)),
    [`fx_position ${tgt}`]: x.T.neg().toFixed(units(tgt)),
  });
  return x;
}

/**
 * GET /v1/ledger/trial-balance: every currency nets to zero ('0.00', '0', '0.000'), debits equal
 * credits, and customer accounts plus system accounts sum to zero. In `currencies` (this file's own,
 * which nobody else posts in) each system account's balance and the customer total are also checked
 * against the accounts table.
 */
async function expectTrialBalance(currencies: string[] = []) {
  const res = await admin.get('/v1/ledger/trial-balance');
  expect(res.status).toBe(200);
  expect(res.body.data.length).toBeGreaterThan(0);
  for (const line of res.body.data) {
    const zero = new D(0).toFixed(units(line.currency));
    expect({ currency: line.currency, net: line.net, credits: line.credits }).toEqual({ currency: line.currency, net: zero, credits: line.debits });
    const sum = line.system_accounts.reduce((s: D, a: any) => s.plus(a.balance), new D(line.customer_accounts));
    expect({ currency: line.currency, sum: sum.toFixed(units(line.currency)) }).toEqual({ currency: line.currency, sum: zero });
  }
  for (const currency of currencies) {
    if (!OWN_CURRENCIES.has(currency)) throw new Error(`${currency} is shared with other test files`);
    const line = res.body.data.find((l: any) => l.currency === currency);
    expect(line).toBeDefined();
    const u = units(currency);
    const system = await app.db('accounts').where({ kind: 'system', currency }).whereNot({ posted: 0 }).select('id', 'system_purpose', 'posted');
    expect(line.system_accounts.filter((a: any) => !new D(a.balance).isZero()).map((a: any) => `${a.system_purpose} ${a.account_id} ${a.balance}`).sort()).toEqual(
      system.map((a: any) => `${a.system_purpose} ${a.id} ${new D(a.posted).toFixed(u)}`).sort(),
    );
    const customers = await app.db('accounts').where({ kind: 'customer', currency }).sum({ total: 'posted' }).first();
    expect(line.customer_accounts).toBe(new D(customers?.total ?? 0).toFixed(u));
  }
  return res.body.data;
}

/** A declined transfer moved nothing: no ledger transaction, no hold left, no price recorded. */
async function expectNothingPosted(transferId: string) {
  expect(await count(app.db('ledger_transactions').where({ transfer_id: transferId }))).toBe(0);
  expect(await count(app.db('holds').where({ transfer_id: transferId }))).toBe(0);
  const t = await app.db('transfers').where({ id: transferId }).first('priced_at', 'hold_id', 'ledger_transaction_id');
  expect(t).toEqual({ priced_at: null, hold_id: null, ledger_transaction_id: null });
}

// ---------------------------------------------------------------------------------------------

describe('market rates', () => {
  test('PUT stores the rate and its inverse; a client key reads them but may not write', async () => {
    const res = await put(admin, '/v1/fx/rates/USD/COP', { rate: '4000' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ base: 'USD', quote: 'COP', rate: '4000', as_of: expect.stringMatching(ISO_RE), source: 'manual' });

    const { customerId } = await customerWithAccount(admin, { currency: 'COP' });
    const client = await clientFor(customerId);
    const list = await client.get('/v1/fx/rates');
    expect(list.status).toBe(200);
    const find = (data: any[], base: string, quote: string) => data.find((r) => r.base === base && r.quote === quote);
    expect(find(list.body.data, 'USD', 'COP')).toEqual(res.body);
    // 1 / 4000 = 0.00025 exactly.
    expect(find(list.body.data, 'COP', 'USD')).toEqual({ ...res.body, base: 'COP', quote: 'USD', rate: '0.00025' });

    // as_of and source as given; an inverse that does not terminate keeps 18 decimals, rounded half up:
    // 1 / 1.5 = 0.666…6|66… → 0.666666666666666667.
    const asOf = new Date(Date.now() - 5 * 60_000).toISOString();
    const other = await put(admin, '/v1/fx/rates/KWD/GBP', { rate: '1.50', as_of: asOf, source: 'ecb-feed' });
    expect(other.status).toBe(200);
    expect(other.body).toEqual({ base: 'KWD', quote: 'GBP', rate: '1.5', as_of: asOf, source: 'ecb-feed' });
    const again = (await client.get('/v1/fx/rates')).body.data;
    expect(find(again, 'GBP', 'KWD')).toEqual({ base: 'GBP', quote: 'KWD', rate: '0.666666666666666667', as_of: asOf, source: 'ecb-feed' });
    expect(find(again, 'KWD', 'GBP')).toEqual(other.body);

    const denied = await put(client, '/v1/fx/rates/USD/COP', { rate: '1' });
    expectErrorEnvelope(denied, 403, 'not_authorized');
    expect(find((await admin.get('/v1/fx/rates')).body.data, 'USD', 'COP').rate).toBe('4000');
    await expectLedgerInvariants(app.db);
  });

  test('bad rates are 422; unknown currencies 422 currency_not_supported, malformed codes 404; nothing changes', async () => {
    await putRate('USD', 'COP', '4000');
    const before = await app.db('fx_rates').whereIn('base', ['USD', 'COP']).whereIn('quote', ['USD', 'COP']).orderBy('base');
    const cases: Array<[string, unknown, string, string]> = [
      ['zero', { rate: '0' }, 'invalid_value', '#/rate'],
      ['zero with decimals', { rate: '0.000' }, 'invalid_value', '#/rate'],
      ['negative', { rate: '-1' }, 'invalid_value', '#/rate'],
      ['exponent', { rate: '1e3' }, 'invalid_value', '#/rate'],
      ['a JSON number', { rate: 4000 }, 'invalid_type', '#/rate'],
      ['empty', { rate: '' }, 'invalid_value', '#/rate'],
      ['not a number', { rate: 'abc' }, 'invalid_value', '#/rate'],
      ['padded', { rate: ' 4000' }, 'invalid_value', '#/rate'],
      ['missing', {}, 'missing_field', '#/rate'],
      ['unknown field', { rate: '4100', spread: '1' }, 'unknown_field', '#/spread'],
      ['bad as_of', { rate: '4100', as_of: 'yesterday' }, 'invalid_value', '#/as_of'],
      // More than the 5 minutes of allowed clock skew ahead: such a rate would never go stale.
      ['as_of 10 minutes in the future', { rate: '4100', as_of: new Date(Date.now() + 10 * 60_000).toISOString() }, 'invalid_value', '#/as_of'],
      ['as_of a day in the future', { rate: '4100', as_of: new Date(Date.now() + 24 * 3600_000).toISOString() }, 'invalid_value', '#/as_of'],
    ];
    for (const [name, body, code, path] of cases) {
      const res = await put(admin, '/v1/fx/rates/USD/COP', body);
      expect({ name, status: res.status }).toEqual({ name, status: 422 });
      expectErrorEnvelope(res, 422, code, path);
    }
    expectErrorEnvelope(await put(admin, '/v1/fx/rates/XXX/COP', { rate: '1' }), 422, 'currency_not_supported', '#/base');
    expectErrorEnvelope(await put(admin, '/v1/fx/rates/USD/XYZ', { rate: '1' }), 422, 'currency_not_supported', '#/quote');
    expectErrorEnvelope(await put(admin, '/v1/fx/rates/USD/USD', { rate: '1' }), 422, 'invalid_value', '#/quote');
    expectErrorEnvelope(await put(admin, '/v1/fx/rates/usd/COP', { rate: '1' }), 404, 'not_found');
    expectErrorEnvelope(await put(admin, '/v1/fx/rates/USDX/COP', { rate: '1' }), 404, 'not_found');
    const after = await app.db('fx_rates').whereIn('base', ['USD', 'COP']).whereIn('quote', ['USD', 'COP']).orderBy('base');
    expect(after).toEqual(before);
    await expectLedgerInvariants(app.db);
  });
});

describe('market rates: as_of', () => {
  // BHD/MXN: a pair only this test writes (and nothing prices with), so a rate dated ahead cannot hold up other tests.
  const bhdMxn = async () => {
    const data = (await admin.get('/v1/fx/rates')).body.data as any[];
    const find = (base: string, quote: string) => data.find((r) => r.base === base && r.quote === quote);
    return { pair: find('BHD', 'MXN'), inverse: find('MXN', 'BHD') };
  };

  test('a PUT older than the stored rate changes nothing but still answers 200; a newer one replaces it; as_of at most 5 minutes ahead', async () => {
    await app.db('fx_rates').whereIn(['base', 'quote'], [['BHD', 'MXN'], ['MXN', 'BHD']]).delete();
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    expect((await put(admin, '/v1/fx/rates/BHD/MXN', { rate: '50', as_of: tenMinutesAgo, source: 'feed' })).status).toBe(200);
    // 1 / 50 = 0.02 exactly.
    const stored = {
      pair: { base: 'BHD', quote: 'MXN', rate: '50', as_of: tenMinutesAgo, source: 'feed' },
      inverse: { base: 'MXN', quote: 'BHD', rate: '0.02', as_of: tenMinutesAgo, source: 'feed' },
    };
    expect(await bhdMxn()).toEqual(stored);

    // A late feed message (as_of 20 minutes ago, older than the stored 10): 200, and neither row changes.
    const late = await put(admin, '/v1/fx/rates/BHD/MXN', { rate: '51', as_of: new Date(Date.now() - 20 * 60_000).toISOString(), source: 'late-feed' });
    expect(late.status).toBe(200);
    expect(await bhdMxn()).toEqual(stored);

    // A newer one (5 minutes ago) replaces both rows: 1 / 52 = 0.019230769230769230|769… → 0.019230769230769231.
    const fiveMinutesAgo = new Date(Date.now() - 5 * 60_000).toISOString();
    expect((await put(admin, '/v1/fx/rates/BHD/MXN', { rate: '52', as_of: fiveMinutesAgo, source: 'feed' })).status).toBe(200);
    const newer = {
      pair: { base: 'BHD', quote: 'MXN', rate: '52', as_of: fiveMinutesAgo, source: 'feed' },
      inverse: { base: 'MXN', quote: 'BHD', rate: '0.019230769230769231', as_of: fiveMinutesAgo, source: 'feed' },
    };
    expect(await bhdMxn()).toEqual(newer);
    // Writing the inverse pair with an older as_of is just as late: nothing changes.
    expect((await put(admin, '/v1/fx/rates/MXN/BHD', { rate: '0.05', as_of: tenMinutesAgo })).status).toBe(200);
    expect(await bhdMxn()).toEqual(newer);

    // More than 5 minutes ahead is refused and stores nothing; within the allowed skew (2 minutes ahead) it is accepted.
    const farAhead = await put(admin, '/v1/fx/rates/BHD/MXN', { rate: '53', as_of: new Date(Date.now() + 10 * 60_000).toISOString() });
    expectErrorEnvelope(farAhead, 422, 'invalid_value', '#/as_of');
    expect(await bhdMxn()).toEqual(newer);
    const slightlyAhead = new Date(Date.now() + 2 * 60_000).toISOString();
    expect((await put(admin, '/v1/fx/rates/BHD/MXN', { rate: '54', as_of: slightlyAhead })).status).toBe(200);
    // 1 / 54 = 0.018518518518518518|518… → 0.018518518518518519
    expect(await bhdMxn()).toEqual({
      pair: { base: 'BHD', quote: 'MXN', rate: '54', as_of: slightlyAhead, source: 'manual' },
      inverse: { base: 'MXN', quote: 'BHD', rate: '0.018518518518518519', as_of: slightlyAhead, source: 'manual' },
    });
    await expectLedgerInvariants(app.db);
  });
});

describe('spreads', () => {
  test('a per-pair spread is set, listed, applied to quotes; 100% or more is refused; delete', async () => {
    await putRate('USD', 'COP', '4000');
    const res = await put(admin, '/v1/fx/spreads/COP/USD', { percentage: '1' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ source_currency: 'COP', target_currency: 'USD', percentage: '1' });
    const { customerId } = await customerWithAccount(admin, { currency: 'COP' });
    const client = await clientFor(customerId);
    const list = await client.get('/v1/fx/spreads');
    expect(list.status).toBe(200);
    expect(list.body.data).toContainEqual({ source_currency: 'COP', target_currency: 'USD', percentage: '1' });
    expect(list.body.data.filter((s: any) => s.source_currency === '*')).toHaveLength(1);

    // fx_rate = market × (1 + spread): 4000 × 1.01 = 4040; with 2%: 4000 × 1.02 = 4080.
    const quote = () => admin.post('/v1/fx/quotes', { source_currency: 'COP', target_currency: 'USD', target_amount: '1.00' });
    expect((await quote()).body).toMatchObject({ market_rate: '4000', fx_rate: '4040' });
    await putSpread('COP', 'USD', '2');
    expect((await quote()).body).toMatchObject({ market_rate: '4000', fx_rate: '4080' });

    // 'abc' and '' must be a 422 like any other bad value, not a 500 from parsing them as numbers;
    // more decimals than the stored numeric(12, 6) are refused rather than silently rounded.
    const badPercentages = [['100', 'invalid_value'], ['100.000001', 'invalid_value'], ['250', 'invalid_value'], ['-1', 'invalid_value'], ['abc', 'invalid_value'], ['', 'invalid_value'], ['0.1234567', 'invalid_value'], [1, 'invalid_type']] as const;
    for (const [percentage, code] of badPercentages) {
      const bad = await put(admin, '/v1/fx/spreads/COP/USD', { percentage });
      expectErrorEnvelope(bad, 422, code, '#/percentage');
    }
    expectErrorEnvelope(await put(admin, '/v1/fx/spreads/COP/XXX', { percentage: '1' }), 422, 'currency_not_supported', '#/target');
    expectErrorEnvelope(await put(client, '/v1/fx/spreads/COP/USD', { percentage: '0' }), 403, 'not_authorized');
    expectErrorEnvelope(await del(client, '/v1/fx/spreads/COP/USD'), 403, 'not_authorized');
    expect((await admin.get('/v1/fx/spreads')).body.data).toContainEqual({ source_currency: 'COP', target_currency: 'USD', percentage: '2' });

    // Just under 100 is allowed; a pair's own spread can be deleted, once.
    const high = await put(admin, '/v1/fx/spreads/KWD/GBP', { percentage: '99.999999' });
    expect(high.body).toEqual({ source_currency: 'KWD', target_currency: 'GBP', percentage: '99.999999' });
    expect((await del(admin, '/v1/fx/spreads/KWD/GBP')).status).toBe(204);
    expectErrorEnvelope(await del(admin, '/v1/fx/spreads/KWD/GBP'), 404, 'not_found');
    expect((await admin.get('/v1/fx/spreads')).body.data.filter((s: any) => s.source_currency === 'KWD' && s.target_currency === 'GBP')).toEqual([]);

    await putSpread('COP', 'USD', '1');
    expect((await quote()).body).toMatchObject({ fx_rate: '4040' });
    await expectLedgerInvariants(app.db);
  });
});

describe('tariffs', () => {
  test('ranges that do not tile [0, ∞) are 422 invalid_tariff_ranges with a path per problem, and create nothing', async () => {
    const cases: Array<[string, RangeInput[], string[]]> = [
      ['overlapping', [range('0', '100'), range('50', null)], ['#/ranges/1/min_amount']],
      ['gapped', [range('0', '100'), range('150', null)], ['#/ranges/1/min_amount']],
      ['not starting at 0', [range('10', null)], ['#/ranges/0/min_amount']],
      ['not open-ended', [range('0', '100'), range('100', '200')], ['#/ranges/1/max_amount']],
      ['open-ended before the last', [range('0', null), range('100', null)], ['#/ranges/0/max_amount']],
      ['max not above min', [range('0', '0'), range('0', null)], ['#/ranges/0/max_amount']],
      ['min_fee above max_fee', [range('0', null, { percentage: '1', min_fee: '5', max_fee: '1' })], ['#/ranges/0/min_fee']],
      // Every problem is reported: starts at 5; gap 100→150; 120 ≤ 150; the last is closed.
      ['several', [range('5', '100'), range('150', '120')], ['#/ranges/0/min_amount', '#/ranges/1/min_amount', '#/ranges/1/max_amount', '#/ranges/1/max_amount']],
    ];
    for (const [name, ranges, paths] of cases) {
      const res = await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'BHD', ranges });
      expect({ name, status: res.status }).toEqual({ name, status: 422 });
      expectErrorEnvelope(res, 422, 'invalid_tariff_ranges');
      expect({ name, paths: res.body.errors.map((e: any) => e.path) }).toEqual({ name, paths });
      expect(res.body.errors.every((e: any) => e.error_code === 'invalid_tariff_ranges')).toBe(true);
    }
    expect((await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'BHD', ranges: [range('0', '100'), range('50', null)] })).body.errors[0].message).toMatch(/overlaps/);
    expect((await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'BHD', ranges: [range('0', '100'), range('150', null)] })).body.errors[0].message).toMatch(/gap/);
    expectErrorEnvelope(await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'BHD', ranges: [] }), 422, 'invalid_value', '#/ranges');
    expectErrorEnvelope(await admin.post('/v1/tariffs', { operation: 'wire', currency: 'BHD', ranges: [range('0', null)] }), 422, 'invalid_value', '#/operation');
    expectErrorEnvelope(await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'XXX', ranges: [range('0', null)] }), 422, 'currency_not_supported', '#/currency');
    expectErrorEnvelope(
      await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'BHD', ranges: [range('0', null, { percentage: '100' })] }),
      422,
      'invalid_value',
      '#/ranges/0/percentage',
    );
    // Values the schedule cannot store exactly, or that are not numbers, are refused (never a 500).
    for (const [field, value] of [['percentage', 'abc'], ['percentage', '0.1234567'], ['fixed_amount', '0.000000001'], ['min_fee', 'x']] as const) {
      const res = await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'BHD', ranges: [range('0', null, { [field]: value })] });
      expectErrorEnvelope(res, 422, 'invalid_value', `#/ranges/0/${field}`);
    }
    expectErrorEnvelope(
      await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'BHD', ranges: [range('0', '0.000000001'), range('0.000000001', null)] }),
      422,
      'invalid_value',
      '#/ranges/0/max_amount',
    );
    expect(await count(app.db('tariffs').where({ currency: 'BHD' }))).toBe(0);
    await expectLedgerInvariants(app.db);
  });

  test('create, 409 for a second one of the same operation and currency, get, list, replace, delete', async () => {
    await removeTariff('account_to_account_fx', 'MXN');
    const ranges = [
      range('0', '1000', { fixed_amount: '5' }),
      range('1000', null, { percentage: '0.5', min_fee: '6', max_fee: '40.5', tx_description: 'Large FX' }),
    ];
    const created = await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'MXN', ranges });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/tariffs/${created.body.id}`);
    expect(created.body).toEqual({
      id: expect.stringMatching(UUID_RE),
      operation: 'account_to_account_fx',
      currency: 'MXN',
      ranges: [
        { id: expect.stringMatching(UUID_RE), min_amount: '0', max_amount: '1000', fixed_amount: '5', percentage: '0', min_fee: null, max_fee: null, tx_description: null },
        { id: expect.stringMatching(UUID_RE), min_amount: '1000', max_amount: null, fixed_amount: '0', percentage: '0.5', min_fee: '6', max_fee: '40.5', tx_description: 'Large FX' },
      ],
      created_at: expect.stringMatching(ISO_RE),
      updated_at: expect.stringMatching(ISO_RE),
    });
    const id = created.body.id;

    const dup = await admin.post('/v1/tariffs', { operation: 'account_to_account_fx', currency: 'MXN', ranges: [range('0', null)] });
    expectErrorEnvelope(dup, 409, 'tariff_exists', '#/operation');
    expect(await count(app.db('tariffs').where({ operation: 'account_to_account_fx', currency: 'MXN' }))).toBe(1);

    const { customerId } = await customerWithAccount(admin, { currency: 'MXN' });
    const client = await clientFor(customerId);
    const got = await client.get(`/v1/tariffs/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);
    expect((await client.get('/v1/tariffs')).body.data).toContainEqual(created.body);
    expectErrorEnvelope(await client.post('/v1/tariffs', { operation: 'payout', currency: 'MXN', ranges: [range('0', null)] }), 403, 'not_authorized');
    expectErrorEnvelope(await put(client, `/v1/tariffs/${id}`, { ranges: [range('0', null)] }), 403, 'not_authorized');
    expectErrorEnvelope(await del(client, `/v1/tariffs/${id}`), 403, 'not_authorized');

    // Fees follow the ranges: 999.99 MXN is in [0, 1000): fixed 5.00; 1000.00 is in [1000, ∞): 0.5% = 5.00 → min 6.00.
    const calc = (amount: string) => admin.post('/v1/tariffs/calculate', { operation: 'account_to_account_fx', source_currency: 'MXN', source_amount: amount });
    expect((await calc('999.99')).body.calculated_fees.account_to_account_fx.amount).toEqual({ amount: '5.00', currency: 'MXN' });
    expect((await calc('1000.00')).body.calculated_fees.account_to_account_fx).toMatchObject({ amount: { amount: '6.00', currency: 'MXN' }, tx_description: 'Large FX' });

    const replaced = await put(admin, `/v1/tariffs/${id}`, { ranges: [range('0', null, { fixed_amount: '7.25', tx_description: 'Flat' })] });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id, operation: 'account_to_account_fx', currency: 'MXN', created_at: created.body.created_at });
    expect(replaced.body.ranges).toEqual([
      { id: expect.stringMatching(UUID_RE), min_amount: '0', max_amount: null, fixed_amount: '7.25', percentage: '0', min_fee: null, max_fee: null, tx_description: 'Flat' },
    ]);
    expect(new Date(replaced.body.updated_at).getTime()).toBeGreaterThan(new Date(created.body.updated_at).getTime());
    expect((await admin.get(`/v1/tariffs/${id}`)).body).toEqual(replaced.body);
    expect((await calc('1000.00')).body.calculated_fees.account_to_account_fx).toMatchObject({ amount: { amount: '7.25', currency: 'MXN' }, tx_description: 'Flat' });

    // A bad replacement changes nothing.
    expectErrorEnvelope(await put(admin, `/v1/tariffs/${id}`, { ranges: [range('1', null)] }), 422, 'invalid_tariff_ranges', '#/ranges/0/min_amount');
    expect((await admin.get(`/v1/tariffs/${id}`)).body).toEqual(replaced.body);

    expect((await del(admin, `/v1/tariffs/${id}`)).status).toBe(204);
    expectErrorEnvelope(await admin.get(`/v1/tariffs/${id}`), 404, 'not_found');
    expectErrorEnvelope(await del(admin, `/v1/tariffs/${id}`), 404, 'not_found');
    expectErrorEnvelope(await put(admin, `/v1/tariffs/${id}`, { ranges: [range('0', null)] }), 404, 'not_found');
    expect(await count(app.db('tariff_ranges').where({ tariff_id: id }))).toBe(0);
    // Without a tariff the operation is free.
    expect((await calc('1000.00')).body.calculated_fees.account_to_account_fx.amount).toEqual({ amount: '0.00', currency: 'MXN' });
    await expectLedgerInvariants(app.db);
  });

  test('percentage fees are clamped to min_fee/max_fee; a transfer pays what the calculator said', async () => {
    await setTariff('account_to_account', 'MXN', [
      range('0', '1000', { percentage: '2', min_fee: '5' }),
      range('1000', null, { fixed_amount: '10', percentage: '1', max_fee: '25', tx_description: 'Big MXN' }),
    ]);
    // fee = fixed + amount × percentage / 100, clamped, rounded half up; same currency: target = source − fee.
    const expected: Array<[string, string, string]> = [
      ['100.00', '5.00', '95.00'], // 2% = 2.00 → min 5.00
      ['333.33', '6.67', '326.66'], // 2% = 6.6666 → 6.67
      ['999.99', '20.00', '979.99'], // 2% = 19.9998 → 20.00
      ['1000.00', '20.00', '980.00'], // 10 + 1% = 10 + 10 = 20.00
      ['1234.56', '22.35', '1212.21'], // 10 + 12.3456 = 22.3456 → 22.35
      ['5000.00', '25.00', '4975.00'], // 10 + 50 = 60 → max 25.00
    ];
    for (const [source, fee, target] of expected) {
      const res = await admin.post('/v1/tariffs/calculate', { source_currency: 'MXN', source_amount: source });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        operation_type: 'account_to_account',
        market_rate: '1',
        fx_rate: '1',
        source_amount: { amount: source, currency: 'MXN' },
        target_amount: { amount: target, currency: 'MXN' },
        calculated_fees: {
          account_to_account: { amount: { amount: fee, currency: 'MXN' }, id: expect.stringMatching(FEE_ID_RE), tx_description: new D(source).gte(1000) ? 'Big MXN' : null },
        },
      });
    }
    // Given the target: the fee is on the principal, 500.00 × 2% = 10.00; source = 510.00.
    const byTarget = await admin.post('/v1/tariffs/calculate', { source_currency: 'MXN', target_amount: '500.00' });
    expect(byTarget.body).toMatchObject({ source_amount: { amount: '510.00' }, target_amount: { amount: '500.00' } });

    // The same price through a transfer: −1234.56 from the source, +22.35 fee, +1212.21 to the destination.
    const a = await customerWithAccount(admin, { currency: 'MXN', deposit: '2000.00' });
    const b = await customerWithAccount(admin, { currency: 'MXN' });
    const feeBefore = (await app.db('accounts').where({ id: await systemId('fee_revenue', 'MXN') }).first('posted')).posted;
    const t = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '1234.56', reference: 'mxn fee' }));
    expect(t).toMatchObject({
      status: 'completed',
      operation_type: 'account_to_account',
      source_amount: { amount: '1234.56', currency: 'MXN' },
      target_amount: { amount: '1212.21', currency: 'MXN' },
      calculated_fees: { account_to_account: { amount: { amount: '22.35', currency: 'MXN' }, tx_description: 'Big MXN' } },
      source_entry: { type: 'debit', amount: '1234.56', balance: '765.44' },
      destination_entry: { type: 'credit', amount: '1212.21', balance: '1212.21' },
    });
    const { entries } = await expectEntriesExplained(t.id, 'source');
    expect(entries).toHaveLength(3);
    expect(entries.find((e: any) => new D(e.amount).eq('22.35'))?.description).toBe('Big MXN');
    const feeAfter = (await app.db('accounts').where({ id: await systemId('fee_revenue', 'MXN') }).first('posted')).posted;
    expect(new D(feeAfter).minus(feeBefore).toFixed(2)).toBe('22.35');
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('765.44'));
    await removeTariff('account_to_account', 'MXN');
    await expectLedgerInvariants(app.db);
  });

  test('POST /v1/tariffs/calculate gives the same price as a quote for the same inputs and moves no money', async () => {
    await copWorld();
    const moneyState = async () => ({
      copEntries: await count(app.db('ledger_entries').where({ currency: 'COP' })),
      copQuotes: await count(app.db('fx_quotes').where({ source_currency: 'COP' })),
      copSystem: await app.db('accounts').where({ kind: 'system', currency: 'COP' }).orderBy('id').select('id', 'posted', 'pending'),
    });
    const before = await moneyState();
    const stripIds = (fees: Record<string, any>) => Object.fromEntries(Object.entries(fees).map(([k, v]) => [k, { ...v, id: 'fee' }]));

    for (const amounts of [{ target_amount: '100.00' }, { source_amount: '500000.00' }]) {
      const calc = await admin.post('/v1/tariffs/calculate', { source_currency: 'COP', target_currency: 'USD', ...amounts });
      expect(calc.status).toBe(200);
      const quote = await admin.post('/v1/fx/quotes', { source_currency: 'COP', target_currency: 'USD', ...amounts });
      expect(quote.status).toBe(201);
      for (const field of ['operation_type', 'market_rate', 'fx_rate', 'source_amount', 'target_amount'] as const) {
        expect({ field, value: calc.body[field] }).toEqual({ field, value: quote.body[field] });
      }
      expect(stripIds(calc.body.calculated_fees)).toEqual(stripIds(quote.body.calculated_fees));
    }
    // And the numbers themselves (seed 002): fx_rate 4000 × 1.01 = 4040;
    // target 100.00 → source 100 × 4040 + 2500 = 406500.00, spread 100 × 40 = 4000.00.
    const calc = await admin.post('/v1/tariffs/calculate', { source_currency: 'COP', target_currency: 'USD', target_amount: '100.00' });
    expect(calc.body).toEqual({
      operation_type: 'account_to_account_fx',
      market_rate: '4000',
      fx_rate: '4040',
      source_amount: { amount: '406500.00', currency: 'COP' },
      target_amount: { amount: '100.00', currency: 'USD' },
      calculated_fees: {
        account_to_account_fx: { amount: { amount: '2500.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: null },
        [SPREAD]: { amount: { amount: '4000.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: null },
      },
    });
    // A client and a compliance key may ask too; a client may not set the price.
    const { customerId } = await customerWithAccount(admin, { currency: 'COP' });
    const client = await clientFor(customerId);
    const compliance = httpClient(app.url, await createKey(app.db, 'compliance'));
    const body = { source_currency: 'COP', target_currency: 'USD', target_amount: '100.00' };
    expect((await client.post('/v1/tariffs/calculate', body)).body.source_amount).toEqual({ amount: '406500.00', currency: 'COP' });
    expect((await compliance.post('/v1/tariffs/calculate', body)).body.source_amount).toEqual({ amount: '406500.00', currency: 'COP' });
    expectErrorEnvelope(await client.post('/v1/tariffs/calculate', { ...body, fx_rate: '4000' }), 403, 'not_authorized', '#/fx_rate');

    const after = await moneyState();
    // The calculator wrote nothing; only the two quotes were stored.
    expect(after).toEqual({ ...before, copQuotes: before.copQuotes + 2 });
    await expectLedgerInvariants(app.db);
  });
});

describe('quotes', () => {
  test('a quote locks the price: the transfer gets exactly it after the rate moves, and the quote cannot be used again', async () => {
    await copWorld();
    const a = await customerWithAccount(admin, { currency: 'COP', deposit: '1000000.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const clientA = await clientFor(a.customerId);

    const q = await clientA.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'USD', target_amount: '100.00' });
    expect(q.status).toBe(201);
    expect(q.headers.get('location')).toBe(`/v1/fx/quotes/${q.body.id}`);
    // 100.00 USD at 4040 = 404000.00 COP + 2500.00 fee = 406500.00; spread 100 × (4040 − 4000) = 4000.00.
    expect(q.body).toEqual({
      id: expect.stringMatching(UUID_RE),
      source_account_id: a.accountId,
      operation_type: 'account_to_account_fx',
      market_rate: '4000',
      fx_rate: '4040',
      source_amount: { amount: '406500.00', currency: 'COP' },
      target_amount: { amount: '100.00', currency: 'USD' },
      calculated_fees: {
        account_to_account_fx: { amount: { amount: '2500.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: null },
        [SPREAD]: { amount: { amount: '4000.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: null },
      },
      rate_as_of: expect.stringMatching(ISO_RE),
      expires_at: expect.stringMatching(ISO_RE),
      used_by_transfer_id: null,
      created_at: expect.stringMatching(ISO_RE),
    });
    // The harness's quote TTL is 60 s.
    expect(new Date(q.body.expires_at).getTime() - new Date(q.body.created_at).getTime()).toBe(60_000);
    expect((await clientA.get(`/v1/fx/quotes/${q.body.id}`)).body).toEqual(q.body);
    // Quotes are their owner's: the admin key (another scope) does not see a customer's quote.
    expectErrorEnvelope(await admin.get(`/v1/fx/quotes/${q.body.id}`), 404, 'not_found');

    // The market moves, and so do the spread and the fee: a new quote says 4500 × 1.02 = 4590.
    await putRate('USD', 'COP', '4500');
    await putSpread('COP', 'USD', '2');
    await setTariff('account_to_account_fx', 'COP', [range('0', null, { fixed_amount: '9999.00' })]);
    const fresh = await clientA.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'USD', target_amount: '100.00' });
    // 100 × 4590 + 9999 = 468999.00
    expect(fresh.body).toMatchObject({ market_rate: '4500', fx_rate: '4590', source_amount: { amount: '468999.00' } });

    const before = await snapshotSystem('COP', 'USD');
    const key = randomUUID();
    const body = { source_account_id: a.accountId, destination_account_id: b.accountId, quote_id: q.body.id, target_amount: '100.00', reference: 'quoted' };
    const res = await postTransfer(clientA, body, key);
    expect(res.status).toBe(201);
    const t = res.body;
    expect(t).toMatchObject({
      status: 'completed',
      response_code: '1',
      quote_id: q.body.id,
      operation_type: 'account_to_account_fx',
      fx_rate: '4040',
      market_rate: '4000',
      source_amount: { amount: '406500.00', currency: 'COP' },
      target_amount: { amount: '100.00', currency: 'USD' },
      calculated_fees: q.body.calculated_fees,
      // The client sees its own entry only: 1000000.00 − 406500.00 = 593500.00.
      source_entry: { type: 'debit', amount: '406500.00', currency: 'COP', balance: '593500.00' },
      destination_entry: null,
    });
    await expectBooked(t.id, 'target', before);
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('593500.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('100.00'));
    expect((await clientA.get(`/v1/fx/quotes/${q.body.id}`)).body.used_by_transfer_id).toBe(t.id);

    // The same key and body is a replay; a new key is a second use of the quote.
    const replay = await postTransfer(clientA, body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(t.id);
    expectErrorEnvelope(await postTransfer(clientA, body), 422, 'quote_already_used', '#/quote_id');
    expectErrorEnvelope(await postTransfer(clientA, { ...body, target_amount: undefined }), 422, 'quote_already_used', '#/quote_id');
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(1);
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('593500.00'));
    await expectTrialBalance(['COP']);
    await expectLedgerInvariants(app.db);
  });

  test('expired, foreign and mismatched quotes are refused and change nothing; the quotes still work afterwards', async () => {
    await copWorld();
    const a = await customerWithAccount(admin, { currency: 'COP', deposit: '200000.00' });
    const a2 = await addAccount(a.customerId, 'COP', '200000.00');
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const bCop = await addAccount(b.customerId, 'COP', '200000.00');
    const bEur = await addAccount(b.customerId, 'EUR');
    const clientA = await clientFor(a.customerId);
    const clientB = await clientFor(b.customerId);

    const quote = async (client: HttpClient, body: Record<string, unknown>) => {
      const res = await client.post('/v1/fx/quotes', { target_currency: 'USD', source_amount: '50000.00', ...body });
      expect(res.status).toBe(201);
      return res.body;
    };
    // 50000.00 − 2500.00 = 47500.00 COP; / 4040 = 11.7574… → 11.75 USD (rounded down; half up gave 11.76);
    // spread 11.75 × 40 = 470.00.
    const qAccount = await quote(clientA, { source_account_id: a.accountId });
    const qCurrency = await quote(clientA, { source_currency: 'COP' });
    for (const qq of [qAccount, qCurrency]) {
      expect(qq).toMatchObject({ fx_rate: '4040', source_amount: { amount: '50000.00' }, target_amount: { amount: '11.75', currency: 'USD' } });
      expect(qq.calculated_fees[SPREAD].amount.amount).toBe('470.00');
    }
    expect(qCurrency.source_account_id).toBeNull();
    const adminQuote = (await admin.post('/v1/fx/quotes', { source_currency: 'COP', target_currency: 'USD', source_amount: '50000.00' })).body;

    // A quote made by an app whose quotes live 1 s expires.
    const shortLived = await startTestApplication({ fx: { fxRateMaxAgeMs: 3_600_000, fxQuoteTtlMs: 1000 } });
    let expired: any;
    try {
      expired = await quote(httpClient(shortLived.url, await createKey(app.db, 'client', a.customerId)), { source_account_id: a.accountId });
      expect(new Date(expired.expires_at).getTime() - new Date(expired.created_at).getTime()).toBe(1000);
      await new Promise((r) => setTimeout(r, 1300));
    } finally {
      await shortLived.stop();
    }

    const transfer = (client: HttpClient, source: string, destination: string, quoteId: string, extra: Record<string, unknown> = {}) =>
      postTransfer(client, { source_account_id: source, destination_account_id: destination, quote_id: quoteId, reference: 'quoted', ...extra });

    const expiredRes = await transfer(clientA, a.accountId, b.accountId, expired.id);
    expectErrorEnvelope(expiredRes, 422, 'quote_expired', '#/quote_id');
    expect(expiredRes.body.errors[0].message).toContain(new Date(expired.expires_at).toISOString());
    // Another customer's quote, an admin using a customer's quote, a customer using an admin's, an unknown id.
    expectErrorEnvelope(await transfer(clientB, bCop, b.accountId, qAccount.id), 422, 'quote_not_found', '#/quote_id');
    expectErrorEnvelope(await transfer(clientB, bCop, b.accountId, qCurrency.id), 422, 'quote_not_found', '#/quote_id');
    expectErrorEnvelope(await transfer(admin, a.accountId, b.accountId, qAccount.id), 422, 'quote_not_found', '#/quote_id');
    expectErrorEnvelope(await transfer(clientA, a.accountId, b.accountId, adminQuote.id), 422, 'quote_not_found', '#/quote_id');
    expectErrorEnvelope(await transfer(clientA, a.accountId, b.accountId, randomUUID()), 422, 'quote_not_found', '#/quote_id');
    // Made for other accounts or currencies, or other amounts, or with a price of its own.
    expectErrorEnvelope(await transfer(clientA, a2, b.accountId, qAccount.id), 422, 'quote_mismatch', '#/quote_id');
    expectErrorEnvelope(await transfer(clientA, a.accountId, bEur, qCurrency.id), 422, 'quote_mismatch', '#/quote_id');
    expectErrorEnvelope(await transfer(clientA, a.accountId, bEur, qAccount.id), 422, 'quote_mismatch', '#/quote_id');
    expectErrorEnvelope(await transfer(clientA, a.accountId, b.accountId, qAccount.id, { source_amount: '50000.01' }), 422, 'quote_mismatch', '#/source_amount');
    // One cent more than the quoted 11.75 (the half-up amount 11.76) is not the quote's.
    expectErrorEnvelope(await transfer(clientA, a.accountId, b.accountId, qAccount.id, { target_amount: '11.76' }), 422, 'quote_mismatch', '#/target_amount');
    expectErrorEnvelope(await transfer(admin, a.accountId, b.accountId, adminQuote.id, { fx_rate: '4000' }), 422, 'quote_mismatch', '#/quote_id');

    expect(await count(app.db('transfers').whereIn('source_account_id', [a.accountId, a2, bCop]))).toBe(0);
    for (const id of [qAccount.id, qCurrency.id, expired.id]) expect((await clientA.get(`/v1/fx/quotes/${id}`)).body.used_by_transfer_id).toBeNull();
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('200000.00'));

    // The refusals left the quotes usable: the account's quote from its account (with the same
    // amounts repeated), the currency quote from the customer's other COP account.
    const before = await snapshotSystem('COP', 'USD');
    const t1 = await settled(clientA, await transfer(clientA, a.accountId, b.accountId, qAccount.id, { source_amount: '50000.00', target_amount: '11.75' }));
    expect(t1).toMatchObject({ status: 'completed', quote_id: qAccount.id, source_amount: { amount: '50000.00' }, target_amount: { amount: '11.75' }, fx_rate: '4040' });
    await expectBooked(t1.id, 'source', before);
    const t2 = await settled(clientA, await transfer(clientA, a2, b.accountId, qCurrency.id));
    expect(t2).toMatchObject({ status: 'completed', quote_id: qCurrency.id, source_amount: { amount: '50000.00' }, target_amount: { amount: '11.75' } });
    await expectEntriesExplained(t2.id, 'source');
    // 200000.00 − 50000.00 = 150000.00 on each; 11.75 × 2 = 23.50 USD arrived.
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('150000.00'));
    expect(await balancesOf(admin, a2)).toEqual(posted('150000.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('23.50'));
    await expectLedgerInvariants(app.db);
  });

  test('concurrent transfers racing for one quote with different idempotency keys: exactly one succeeds', async () => {
    await copWorld();
    const a = await customerWithAccount(admin, { currency: 'COP', deposit: '5000000.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const clientA = await clientFor(a.customerId);
    const q = await clientA.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'USD', target_amount: '100.00' });
    expect(q.status).toBe(201);

    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        postTransfer(clientA, { source_account_id: a.accountId, destination_account_id: b.accountId, quote_id: q.body.id, reference: `race ${i}` }),
      ),
    );
    const winners = responses.filter((r) => r.status === 201 || r.status === 202);
    const losers = responses.filter((r) => r.status === 422);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(11);
    for (const l of losers) expectErrorEnvelope(l, 422, 'quote_already_used', '#/quote_id');
    const t = await settled(clientA, winners[0]!);
    expect(t).toMatchObject({ status: 'completed', source_amount: { amount: '406500.00' }, target_amount: { amount: '100.00' } });
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(1);
    expect(await count(app.db('transfers').where({ quote_id: q.body.id }))).toBe(1);
    // The quote is marked used by the winner, and only by it.
    expect((await clientA.get(`/v1/fx/quotes/${q.body.id}`)).body.used_by_transfer_id).toBe(t.id);
    await expectEntriesExplained(t.id, 'target');
    // 5000000.00 − 406500.00 = 4593500.00, once.
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('4593500.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('100.00'));
    await expectLedgerInvariants(app.db);
  });
});

describe('stale and missing rates', () => {
  test('a rate older than the maximum age: quote 422 fx_rate_stale, transfer declined 101 naming the rate, nothing posted; an admin fx_rate is still used', async () => {
    await removeTariff('account_to_account_fx', 'MXN');
    await putSpread('MXN', 'GBP', '0');
    await putSpread('GBP', 'MXN', '0');
    // A PUT older than the stored rate is ignored (a late feed message): start from no GBP/MXN rate at all.
    await app.db('fx_rates').whereIn(['base', 'quote'], [['GBP', 'MXN'], ['MXN', 'GBP']]).delete();
    await putRate('GBP', 'MXN', '25.5', new Date(Date.now() - 24 * 3600_000));
    const a = await customerWithAccount(admin, { currency: 'MXN', deposit: '1000.00' });
    const b = await customerWithAccount(admin, { currency: 'GBP' });
    const body = { source_account_id: a.accountId, target_currency: 'GBP', source_amount: '100.00' };

    const q = await admin.post('/v1/fx/quotes', body);
    expectErrorEnvelope(q, 422, 'fx_rate_stale', '#/target_currency');
    expect(q.body.errors[0].message).toContain('GBP/MXN');
    expectErrorEnvelope(await admin.post('/v1/tariffs/calculate', { source_currency: 'MXN', target_currency: 'GBP', source_amount: '100.00' }), 422, 'fx_rate_stale');
    // The inverse was written with the same as_of: stale too.
    const reverse = await admin.post('/v1/fx/quotes', { source_currency: 'GBP', target_currency: 'MXN', source_amount: '1.00' });
    expectErrorEnvelope(reverse, 422, 'fx_rate_stale', '#/target_currency');
    expect(reverse.body.errors[0].message).toContain('MXN/GBP');

    const transferBody = { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '100.00', reference: 'stale' };
    const res = await postTransfer(admin, transferBody);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'declined',
      response_code: '101',
      message: expect.stringMatching(/^declined: .*GBP\/MXN.*older/),
      source_amount: { amount: '100.00', currency: 'MXN' },
      target_amount: { amount: null, currency: 'GBP' },
      fx_rate: null,
      market_rate: null,
      calculated_fees: null,
      source_entry: null,
      destination_entry: null,
    });
    await expectNothingPosted(res.body.id);
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('1000.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('0.00'));

    // An admin's fx_rate does not need a current market rate: with the stale one, market_rate is the given
    // rate and no spread is booked (against the stale 25.5 it would be 3.84 × 0.5 = 1.92 MXN).
    // 100.00 / 26 = 3.846… → 3.84 GBP (rounded down); no MXN fee.
    const quotedAtRate = await admin.post('/v1/fx/quotes', { ...body, fx_rate: '26' });
    expect(quotedAtRate.status).toBe(201);
    expect(quotedAtRate.body).toMatchObject({ market_rate: '26', fx_rate: '26', rate_as_of: null, target_amount: { amount: '3.84', currency: 'GBP' } });
    expect(quotedAtRate.body.calculated_fees[SPREAD].amount).toEqual({ amount: '0.00', currency: 'MXN' });
    const calcAtRate = await admin.post('/v1/tariffs/calculate', { source_currency: 'MXN', target_currency: 'GBP', source_amount: '100.00', fx_rate: '26' });
    expect(calcAtRate.status).toBe(200);
    expect(calcAtRate.body).toMatchObject({ market_rate: '26', fx_rate: '26', target_amount: { amount: '3.84', currency: 'GBP' } });
    let before = await snapshotSystem('MXN', 'GBP');
    const atRate = await settled(admin, await postTransfer(admin, { ...transferBody, fx_rate: '26', reference: 'admin rate stale' }));
    expect(atRate).toMatchObject({
      status: 'completed',
      market_rate: '26',
      fx_rate: '26',
      source_amount: { amount: '100.00', currency: 'MXN' },
      target_amount: { amount: '3.84', currency: 'GBP' },
      calculated_fees: { account_to_account_fx: { amount: { amount: '0.00', currency: 'MXN' } }, [SPREAD]: { amount: { amount: '0.00', currency: 'MXN' } } },
    });
    const x = await expectBooked(atRate.id, 'source', before);
    // Source −100.00, FX position MXN +100.00 and GBP −3.84, destination +3.84: no fee and no spread entry.
    expect(x.entries).toHaveLength(4);
    const spreadRevenueMxn = await systemId('spread_revenue', 'MXN');
    expect(x.entries.some((e: any) => e.account_id === spreadRevenueMxn)).toBe(false);
    expect(x.t.rate_as_of).toBeNull();
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('900.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('3.84'));

    // The limit is the app's 1 h: 65 minutes old is not fine, 55 is (minutes from the limit, whatever
    // a slow machine does between the PUT and the quote). In that order: a PUT with an as_of older than
    // the stored one would leave the stored rate as it is.
    await putRate('GBP', 'MXN', '25.5', new Date(Date.now() - 65 * 60_000));
    expectErrorEnvelope(await admin.post('/v1/fx/quotes', body), 422, 'fx_rate_stale');
    await putRate('GBP', 'MXN', '25.5', new Date(Date.now() - 55 * 60_000));
    expect((await admin.post('/v1/fx/quotes', body)).status).toBe(201);

    // A fresh rate: 100.00 / 25.5 = 3.9215… → 3.92 GBP (rounded down).
    await putRate('GBP', 'MXN', '25.5');
    before = await snapshotSystem('MXN', 'GBP');
    const ok = await settled(admin, await postTransfer(admin, { ...transferBody, reference: 'fresh' }));
    expect(ok).toMatchObject({ status: 'completed', market_rate: '25.5', fx_rate: '25.5', target_amount: { amount: '3.92', currency: 'GBP' } });
    await expectBooked(ok.id, 'source', before);
    // 1000.00 − 100.00 − 100.00 = 800.00; 3.84 + 3.92 = 7.76.
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('800.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('7.76'));
    await expectLedgerInvariants(app.db);
  });

  test('no rate at all: quote 422 fx_rate_unavailable, transfer declined 101, nothing posted; an admin fx_rate is still used', async () => {
    // This file's own pair, never given a rate; make sure of it. No MXN fee either.
    await app.db('fx_rates').whereIn(['base', 'quote'], [['KWD', 'MXN'], ['MXN', 'KWD']]).delete();
    await removeTariff('account_to_account_fx', 'MXN');
    const a = await customerWithAccount(admin, { currency: 'MXN', deposit: '100.00' });
    const b = await customerWithAccount(admin, { currency: 'KWD' });

    const q = await admin.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'KWD', source_amount: '10.00' });
    expectErrorEnvelope(q, 422, 'fx_rate_unavailable', '#/target_currency');
    expect(q.body.errors[0].message).toContain('KWD/MXN');
    expectErrorEnvelope(await admin.post('/v1/tariffs/calculate', { source_currency: 'MXN', target_currency: 'KWD', target_amount: '1.000' }), 422, 'fx_rate_unavailable');

    const res = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, target_amount: '1.000', reference: 'no rate' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'declined',
      response_code: '101',
      message: expect.stringContaining('No market rate for KWD/MXN'),
      source_amount: { amount: null, currency: 'MXN' },
      target_amount: { amount: '1.000', currency: 'KWD' },
      source_entry: null,
      destination_entry: null,
    });
    await expectNothingPosted(res.body.id);
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('100.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('0.000'));

    // An admin's fx_rate needs no market rate: market_rate is the given rate, no spread is booked.
    // Given 1.000 KWD at 60.1234 MXN per KWD: 1.000 × 60.1234 = 60.1234 → 60.13 MXN (rounded up; half up would give 60.12).
    const quoted = await admin.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'KWD', target_amount: '1.000', fx_rate: '60.1234' });
    expect(quoted.status).toBe(201);
    expect(quoted.body).toMatchObject({
      market_rate: '60.1234',
      fx_rate: '60.1234',
      rate_as_of: null,
      source_amount: { amount: '60.13', currency: 'MXN' },
      target_amount: { amount: '1.000', currency: 'KWD' },
    });
    expect(quoted.body.calculated_fees[SPREAD].amount).toEqual({ amount: '0.00', currency: 'MXN' });
    const before = await snapshotSystem('MXN', 'KWD');
    const t = await settled(
      admin,
      await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, target_amount: '1.000', fx_rate: '60.1234', reference: 'admin rate no rate' }),
    );
    expect(t).toMatchObject({
      status: 'completed',
      market_rate: '60.1234',
      fx_rate: '60.1234',
      source_amount: { amount: '60.13', currency: 'MXN' },
      target_amount: { amount: '1.000', currency: 'KWD' },
      calculated_fees: { account_to_account_fx: { amount: { amount: '0.00', currency: 'MXN' } }, [SPREAD]: { amount: { amount: '0.00', currency: 'MXN' } } },
      source_entry: { type: 'debit', amount: '60.13', balance: '39.87' },
      destination_entry: { type: 'credit', amount: '1.000', currency: 'KWD', balance: '1.000' },
    });
    // Source −60.13, FX position MXN +60.13 and KWD −1.000, destination +1.000: no fee and no spread entry.
    const x = await expectBooked(t.id, 'target', before);
    expect(x.entries).toHaveLength(4);
    const spreadRevenueMxn = await systemId('spread_revenue', 'MXN');
    expect(x.entries.some((e: any) => e.account_id === spreadRevenueMxn)).toBe(false);
    expect(x.t.rate_as_of).toBeNull();
    // 100.00 − 60.13 = 39.87
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('39.87'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('1.000'));
    await expectTrialBalance(['MXN', 'KWD']);
    await expectLedgerInvariants(app.db);
  });
});

describe('override_fees and fx_rate (admin only)', () => {
  test('fixed fee and tx_description override, spread override, an admin fx_rate used as given; client keys get 403', async () => {
    await copWorld();
    const a = await customerWithAccount(admin, { currency: 'COP', deposit: '1000000.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });
    const send = async (extra: Record<string, unknown>, given: 'source' | 'target') => {
      const before = await snapshotSystem('COP', 'USD');
      const t = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, reference: 'override', ...extra }));
      expect(t.status).toBe('completed');
      return { t, booked: await expectBooked(t.id, given, before) };
    };

    // Fixed fee 1500.00 instead of the tariff's 2500.00: 50.00 × 4040 = 202000.00 + 1500.00 = 203500.00; spread 50 × 40 = 2000.00.
    const fixedOverride = [{ type: 'account_to_account_fx', fixed: { amount: '1500.00', currency: 'COP' }, tx_description: 'Promo FX fee' }];
    const quoted = await admin.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'USD', target_amount: '50.00', override_fees: fixedOverride });
    expect(quoted.body).toMatchObject({ source_amount: { amount: '203500.00' }, calculated_fees: { account_to_account_fx: { amount: { amount: '1500.00' }, tx_description: 'Promo FX fee' } } });
    const fixed = await send({ target_amount: '50.00', override_fees: fixedOverride }, 'target');
    expect(fixed.t).toMatchObject({
      fx_rate: '4040',
      market_rate: '4000',
      source_amount: { amount: '203500.00', currency: 'COP' },
      target_amount: { amount: '50.00', currency: 'USD' },
      calculated_fees: {
        account_to_account_fx: { amount: { amount: '1500.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: 'Promo FX fee' },
        [SPREAD]: { amount: { amount: '2000.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: null },
      },
    });
    const feeRevenueCop = await systemId('fee_revenue', 'COP');
    expect(fixed.booked.entries.find((e: any) => e.account_id === feeRevenueCop)?.description).toBe('Promo FX fee');

    // Spread 2.5% instead of 1%: fx_rate 4000 × 1.025 = 4100; (250000.00 − 2500.00) / 4100 = 60.3658… → 60.36
    // (rounded down; half up gave 60.37); spread 60.36 × 100 = 6036.00.
    const spread = await send({ source_amount: '250000.00', override_fees: [{ type: SPREAD, percentage: '2.5' }] }, 'source');
    expect(spread.t).toMatchObject({ fx_rate: '4100', market_rate: '4000', target_amount: { amount: '60.36' } });
    expect(spread.t.calculated_fees.account_to_account_fx.amount.amount).toBe('2500.00');
    expect(spread.t.calculated_fees[SPREAD].amount.amount).toBe('6036.00');

    // An admin's fx_rate is used as given (the spread is not added): 10.00 × 4200 + 2500.00 = 44500.00; spread 10 × 200 = 2000.00.
    const rate = await send({ target_amount: '10.00', fx_rate: '4200' }, 'target');
    expect(rate.t).toMatchObject({ fx_rate: '4200', market_rate: '4000', source_amount: { amount: '44500.00' } });
    expect(rate.t.calculated_fees[SPREAD].amount.amount).toBe('2000.00');
    // Below the market: no negative fee, no spread entry. 10.00 × 3900 + 2500.00 = 41500.00.
    const cheap = await send({ target_amount: '10.00', fx_rate: '3900' }, 'target');
    expect(cheap.t).toMatchObject({ fx_rate: '3900', source_amount: { amount: '41500.00' } });
    expect(cheap.t.calculated_fees[SPREAD].amount.amount).toBe('0.00');
    const spreadRevenueCop = await systemId('spread_revenue', 'COP');
    expect(spread.booked.entries.some((e: any) => e.account_id === spreadRevenueCop)).toBe(true);
    expect(cheap.booked.entries.some((e: any) => e.account_id === spreadRevenueCop)).toBe(false);
    expect(cheap.booked.entries).toHaveLength(5);

    // 1000000.00 − 203500.00 − 250000.00 − 44500.00 − 41500.00 = 460500.00; 50.00 + 60.36 + 10.00 + 10.00 = 130.36.
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('460500.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('130.36'));

    // Client keys may not set the price, anywhere.
    const clientA = await clientFor(a.customerId);
    const base = { source_account_id: a.accountId, destination_account_id: b.accountId, target_amount: '1.00', reference: 'client' };
    expectErrorEnvelope(await postTransfer(clientA, { ...base, override_fees: fixedOverride }), 403, 'not_authorized', '#/override_fees');
    expectErrorEnvelope(await postTransfer(clientA, { ...base, fx_rate: '1' }), 403, 'not_authorized', '#/fx_rate');
    expectErrorEnvelope(await clientA.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'USD', target_amount: '1.00', fx_rate: '1' }), 403, 'not_authorized', '#/fx_rate');
    expectErrorEnvelope(
      await clientA.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'USD', target_amount: '1.00', override_fees: fixedOverride }),
      403,
      'not_authorized',
      '#/override_fees',
    );
    // Malformed overrides, even from an admin.
    const bad = (override_fees: unknown) => postTransfer(admin, { ...base, override_fees });
    expectErrorEnvelope(await bad([{ type: 'account_to_account_fx', fixed: { amount: '1.00', currency: 'USD' } }]), 422, 'invalid_fee_override', '#/override_fees/0/fixed/currency');
    expectErrorEnvelope(await bad([{ type: 'account_to_account_fx', fixed: { amount: '1.001', currency: 'COP' } }]), 422, 'invalid_fee_override', '#/override_fees/0/fixed/amount');
    expectErrorEnvelope(await bad([{ type: SPREAD, percentage: '100' }]), 422, 'invalid_fee_override', '#/override_fees/0/percentage');
    expectErrorEnvelope(await bad([{ type: 'account_to_account', fixed: { amount: '1.00', currency: 'COP' } }]), 422, 'invalid_fee_override', '#/override_fees/0/type');
    expect(await count(app.db('transfers').where({ source_account_id: a.accountId }))).toBe(4);
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('460500.00'));
    await expectLedgerInvariants(app.db);
  });
});

describe('cross-currency transfers end to end', () => {
  test('COP → USD with a fixed COP fee and a 1% spread, given the target then the source amount', async () => {
    await copWorld();
    const a = await customerWithAccount(admin, { currency: 'COP', deposit: '1000000.00' });
    const b = await customerWithAccount(admin, { currency: 'USD' });

    // Given target 100.00 USD: fx_rate 4000 × 1.01 = 4040; S = 100 × 4040 + 2500 = 406500.00;
    // F = 2500.00; SP = 100 × (4040 − 4000) = 4000.00; FX position COP +400000.00, USD −100.00.
    let before = await snapshotSystem('COP', 'USD');
    const res1 = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, target_amount: '100.00', reference: 'cop usd 1' });
    expect(res1.status).toBe(201);
    const t1 = res1.body;
    expect(t1).toMatchObject({
      status: 'completed',
      response_code: '1',
      operation_type: 'account_to_account_fx',
      fx_rate: '4040',
      market_rate: '4000',
      source_amount: { amount: '406500.00', currency: 'COP' },
      target_amount: { amount: '100.00', currency: 'USD' },
      calculated_fees: {
        account_to_account_fx: { amount: { amount: '2500.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: null },
        [SPREAD]: { amount: { amount: '4000.00', currency: 'COP' }, id: expect.stringMatching(FEE_ID_RE), tx_description: null },
      },
      quote_id: null,
      source_entry: { type: 'debit', amount: '406500.00', currency: 'COP', balance: '593500.00' },
      destination_entry: { type: 'credit', amount: '100.00', currency: 'USD', balance: '100.00' },
    });
    expect((await admin.get(`/v1/transfers/${t1.id}`)).body).toEqual(t1);
    expect(await systemDeltas(before, (await expectEntriesExplained(t1.id, 'target')).t.ledger_transaction_id)).toEqual({
      'fee_revenue COP': '2500.00',
      'spread_revenue COP': '4000.00',
      'fx_position COP': '400000.00',
      'fx_position USD': '-100.00',
    });
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('593500.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('100.00'));

    // Given source 500000.00 COP: T = (500000 − 2500) / 4040 = 123.1435… → 123.14;
    // SP = 123.14 × 40 = 4925.60; FX position COP +(500000 − 2500 − 4925.60) = +492574.40, USD −123.14.
    before = await snapshotSystem('COP', 'USD');
    const t2 = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '500000.00', reference: 'cop usd 2' }));
    expect(t2).toMatchObject({
      status: 'completed',
      fx_rate: '4040',
      market_rate: '4000',
      source_amount: { amount: '500000.00', currency: 'COP' },
      target_amount: { amount: '123.14', currency: 'USD' },
      calculated_fees: { account_to_account_fx: { amount: { amount: '2500.00' } }, [SPREAD]: { amount: { amount: '4925.60', currency: 'COP' } } },
      source_entry: { amount: '500000.00', balance: '93500.00' },
      destination_entry: { amount: '123.14', balance: '223.14' },
    });
    expect(await systemDeltas(before, (await expectEntriesExplained(t2.id, 'source')).t.ledger_transaction_id)).toEqual({
      'fee_revenue COP': '2500.00',
      'spread_revenue COP': '4925.60',
      'fx_position COP': '492574.40',
      'fx_position USD': '-123.14',
    });
    // 1000000.00 − 406500.00 − 500000.00 = 93500.00; 100.00 + 123.14 = 223.14.
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('93500.00'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('223.14'));
    await expectTrialBalance(['COP']);
    // The trial balance is for admin and compliance keys.
    expectErrorEnvelope(await (await clientFor(a.customerId)).get('/v1/ledger/trial-balance'), 403, 'not_authorized');
    await expectLedgerInvariants(app.db);
  });

  test('USD → EUR with a per-pair spread and an admin fixed fee', async () => {
    await putRate('EUR', 'USD', '1.08');
    await putSpread('USD', 'EUR', '0.5');
    const a = await customerWithAccount(admin, { currency: 'USD', deposit: '1000.00' });
    const b = await customerWithAccount(admin, { currency: 'EUR' });
    const fee = [{ type: 'account_to_account_fx', fixed: { amount: '2.00', currency: 'USD' } }];

    // fx_rate 1.08 × 1.005 = 1.0854. Given source 500.00: T = 498.00 / 1.0854 = 458.8170… → 458.81 (rounded down;
    // half up gave 458.82); SP = 458.81 × 0.0054 = 2.477574 → 2.48; FX position USD +(500 − 2 − 2.48) = +495.52, EUR −458.81.
    let before = await snapshotSystem('USD', 'EUR');
    const t1 = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '500.00', override_fees: fee, reference: 'usd eur 1' }));
    expect(t1).toMatchObject({
      status: 'completed',
      fx_rate: '1.0854',
      market_rate: '1.08',
      source_amount: { amount: '500.00', currency: 'USD' },
      target_amount: { amount: '458.81', currency: 'EUR' },
      calculated_fees: { account_to_account_fx: { amount: { amount: '2.00', currency: 'USD' } }, [SPREAD]: { amount: { amount: '2.48', currency: 'USD' } } },
      source_entry: { amount: '500.00', balance: '500.00' },
      destination_entry: { amount: '458.81', balance: '458.81' },
    });
    expect(await systemDeltas(before, (await expectEntriesExplained(t1.id, 'source')).t.ledger_transaction_id)).toEqual({
      'fee_revenue USD': '2.00',
      'spread_revenue USD': '2.48',
      'fx_position USD': '495.52',
      'fx_position EUR': '-458.81',
    });

    // Given target 100.00 EUR: S = 100 × 1.0854 (exact, nothing to round up) + 2.00 = 110.54; SP = 100 × 0.0054 = 0.54;
    // FX position USD +(110.54 − 2.00 − 0.54) = +108.00 (= 100 × 1.08), EUR −100.00.
    before = await snapshotSystem('USD', 'EUR');
    const t2 = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, target_amount: '100.00', override_fees: fee, reference: 'usd eur 2' }));
    expect(t2).toMatchObject({ status: 'completed', source_amount: { amount: '110.54' }, target_amount: { amount: '100.00' } });
    expect(await systemDeltas(before, (await expectEntriesExplained(t2.id, 'target')).t.ledger_transaction_id)).toEqual({
      'fee_revenue USD': '2.00',
      'spread_revenue USD': '0.54',
      'fx_position USD': '108.00',
      'fx_position EUR': '-100.00',
    });
    // 1000.00 − 500.00 − 110.54 = 389.46; 458.81 + 100.00 = 558.81.
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('389.46'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('558.81'));
    await expectTrialBalance();
    await expectLedgerInvariants(app.db);
  });

  test('JPY (0 decimals) ⇄ KWD (3 decimals): amounts, fees and balances rounded and formatted per currency', async () => {
    // 1 JPY = 0.002 KWD, so 1 KWD = 500 JPY.
    await putRate('JPY', 'KWD', '0.002');
    await putSpread('JPY', 'KWD', '1');
    await putSpread('KWD', 'JPY', '0.5');
    await setTariff('account_to_account_fx', 'KWD', [range('0', null, { fixed_amount: '0.250' })]);
    const a = await customerWithAccount(admin, { currency: 'JPY', deposit: '50000' });
    const aKwd = await addAccount(a.customerId, 'KWD', '30.000');
    const b = await customerWithAccount(admin, { currency: 'KWD' });
    const bJpy = await addAccount(b.customerId, 'JPY');

    // JPY → KWD: market 500 JPY per KWD, fx_rate 500 × 1.01 = 505; no JPY fee.
    // 10000 / 505 = 19.80198… → 19.801 KWD (rounded down; half up gave 19.802); SP = 19.801 × 5 = 99.005 → 99 JPY
    // (half up: .005 of a yen is below half a unit); FX position JPY +(10000 − 99) = +9901, KWD −19.801.
    let before = await snapshotSystem('JPY', 'KWD');
    const t1 = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '10000', reference: 'yen to dinar' }));
    expect(t1).toMatchObject({
      status: 'completed',
      market_rate: '500',
      fx_rate: '505',
      source_amount: { amount: '10000', currency: 'JPY' },
      target_amount: { amount: '19.801', currency: 'KWD' },
      calculated_fees: { account_to_account_fx: { amount: { amount: '0', currency: 'JPY' } }, [SPREAD]: { amount: { amount: '99', currency: 'JPY' } } },
      source_entry: { amount: '10000', balance: '40000' },
      destination_entry: { amount: '19.801', currency: 'KWD', balance: '19.801' },
    });
    const x1 = await expectEntriesExplained(t1.id, 'source');
    // No fee: no fee entry.
    expect(x1.entries).toHaveLength(5);
    expect(await systemDeltas(before, x1.t.ledger_transaction_id)).toEqual({
      'fee_revenue JPY': '0',
      'spread_revenue JPY': '99',
      'fx_position JPY': '9901',
      'fx_position KWD': '-19.801',
    });

    // KWD → JPY: market 0.002 KWD per JPY, fx_rate 0.002 × 1.005 = 0.00201; fee 0.250 KWD.
    // Given 12345 JPY: 12345 × 0.00201 = 24.81345 → 24.814 (rounded up); S = 24.814 + 0.250 = 25.064 (half up gave 25.063);
    // SP = 12345 × 0.00001 = 0.12345 → 0.123 (half up); FX position KWD +(25.064 − 0.250 − 0.123) = +24.691, JPY −12345.
    before = await snapshotSystem('KWD', 'JPY');
    const t2 = await settled(admin, await postTransfer(admin, { source_account_id: aKwd, destination_account_id: bJpy, target_amount: '12345', reference: 'dinar to yen' }));
    expect(t2).toMatchObject({
      status: 'completed',
      market_rate: '0.002',
      fx_rate: '0.00201',
      source_amount: { amount: '25.064', currency: 'KWD' },
      target_amount: { amount: '12345', currency: 'JPY' },
      calculated_fees: { account_to_account_fx: { amount: { amount: '0.250', currency: 'KWD' } }, [SPREAD]: { amount: { amount: '0.123', currency: 'KWD' } } },
      // 30.000 − 25.064 = 4.936
      source_entry: { amount: '25.064', balance: '4.936' },
      destination_entry: { amount: '12345', currency: 'JPY', balance: '12345' },
    });
    const x2 = await expectEntriesExplained(t2.id, 'target');
    expect(await systemDeltas(before, x2.t.ledger_transaction_id)).toEqual({
      'fee_revenue KWD': '0.250',
      'spread_revenue KWD': '0.123',
      'fx_position KWD': '24.691',
      'fx_position JPY': '-12345',
    });
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('40000'));
    expect(await balancesOf(admin, aKwd)).toEqual(posted('4.936'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('19.801'));
    expect(await balancesOf(admin, bJpy)).toEqual(posted('12345'));
    const tb = await expectTrialBalance(['KWD']);
    expect(tb.find((l: any) => l.currency === 'JPY')?.net).toBe('0');
    expect(tb.find((l: any) => l.currency === 'KWD')?.net).toBe('0.000');
    await removeTariff('account_to_account_fx', 'KWD');
    await expectLedgerInvariants(app.db);
  });

  test('BHD (3 decimals) → JPY (0): a target that rounds to zero is amount_too_small / declined 101; the smallest amounts that arrive', async () => {
    // 1 JPY = 0.0025 BHD (1 BHD = 400 JPY); no spread, no BHD fee.
    await putRate('JPY', 'BHD', '0.0025');
    await putSpread('BHD', 'JPY', '0');
    await removeTariff('account_to_account_fx', 'BHD');
    const a = await customerWithAccount(admin, { currency: 'BHD', deposit: '1.000' });
    const b = await customerWithAccount(admin, { currency: 'JPY' });

    // 0.001 BHD / 0.0025 = 0.4 JPY → rounds (down) to 0: nothing would arrive.
    const tiny = await admin.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'JPY', source_amount: '0.001' });
    expectErrorEnvelope(tiny, 422, 'amount_too_small', '#/source_amount');
    // 0.002 BHD / 0.0025 = 0.8 JPY → 0 too: a computed target rounds down (half up used to give 1).
    expectErrorEnvelope(await admin.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'JPY', source_amount: '0.002' }), 422, 'amount_too_small', '#/source_amount');
    expectErrorEnvelope(await admin.post('/v1/tariffs/calculate', { source_currency: 'BHD', target_currency: 'JPY', source_amount: '0.001' }), 422, 'amount_too_small', '#/source_amount');
    expectErrorEnvelope(await admin.post('/v1/fx/quotes', { source_account_id: a.accountId, target_currency: 'JPY', target_amount: '1.5' }), 422, 'too_many_decimals', '#/target_amount');
    const declined = await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '0.001', reference: 'tiny' });
    expect(declined.status).toBe(201);
    expect(declined.body).toMatchObject({ status: 'declined', response_code: '101', message: expect.stringMatching(/^declined: .*nothing would arrive/), source_entry: null, target_amount: { amount: null } });
    await expectNothingPosted(declined.body.id);
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('1.000'));

    // The smallest source that arrives: 0.003 BHD / 0.0025 = 1.2 → 1 JPY (rounded down).
    let before = await snapshotSystem('BHD', 'JPY');
    const t1 = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '0.003', reference: 'smallest' }));
    expect(t1).toMatchObject({ status: 'completed', market_rate: '0.0025', fx_rate: '0.0025', source_amount: { amount: '0.003', currency: 'BHD' }, target_amount: { amount: '1', currency: 'JPY' } });
    expect(t1.calculated_fees[SPREAD].amount).toEqual({ amount: '0.000', currency: 'BHD' });
    expect(await systemDeltas(before, (await expectEntriesExplained(t1.id, 'source')).t.ledger_transaction_id)).toEqual({
      'fee_revenue BHD': '0.000',
      'spread_revenue BHD': '0.000',
      'fx_position BHD': '0.003',
      'fx_position JPY': '-1',
    });
    // Given 1 JPY: 1 × 0.0025 = 0.0025 BHD → 0.003 (a computed source rounds up).
    before = await snapshotSystem('BHD', 'JPY');
    const t2 = await settled(admin, await postTransfer(admin, { source_account_id: a.accountId, destination_account_id: b.accountId, target_amount: '1', reference: 'one yen' }));
    expect(t2).toMatchObject({ status: 'completed', source_amount: { amount: '0.003', currency: 'BHD' }, target_amount: { amount: '1', currency: 'JPY' } });
    const x2 = await expectEntriesExplained(t2.id, 'target');
    expect(x2.entries).toHaveLength(4);
    expect(await systemDeltas(before, x2.t.ledger_transaction_id)).toEqual({
      'fee_revenue BHD': '0.000',
      'spread_revenue BHD': '0.000',
      'fx_position BHD': '0.003',
      'fx_position JPY': '-1',
    });
    // 1.000 − 0.003 − 0.003 = 0.994; 1 + 1 = 2 JPY.
    expect(await balancesOf(admin, a.accountId)).toEqual(posted('0.994'));
    expect(await balancesOf(admin, b.accountId)).toEqual(posted('2'));
    const tb = await expectTrialBalance(['BHD']);
    expect(tb.find((l: any) => l.currency === 'BHD')?.net).toBe('0.000');
    await expectLedgerInvariants(app.db);
  });
});
