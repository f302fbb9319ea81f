/**
 * End to end over HTTP: beneficiaries and payouts (seed 001's pay_out) on the real Postgres, the
 * real Temporal dev server and the real simulated payout rail (its own process), with the API and
 * a worker in this process: approve, retried transient rail failures, a permanent rejection
 * compensated by a reversal, a late return reversing settlement and posting, a cross-currency
 * payout with fees, compliance holds and decisions, the rail's callbacks, a worker restart.
 *
 * Shared state and other test files running at the same time:
 * - Payouts here are made from GBP accounts to GBP beneficiaries (no other file deposits, pays out
 *   or charges fees in GBP): the GBP payouts-in-transit, funding and fee revenue accounts are
 *   asserted directly (no foreign entries allowed). The cross-currency payout goes from EUR to GBP:
 *   its EUR and GBP FX/revenue accounts are shared with other files and checked net of their entries.
 * - Global data of this file's own: the GBP/USD rate (so the USD amount threshold can judge GBP
 *   payouts: 1 GBP = 1.25 USD), the GBP/EUR rate, the EUR → GBP spread and the `payout` tariff in EUR.
 * - The rail's controls are keyed by the beneficiary's IBAN or account number: every beneficiary
 *   gets a random one. Watch-list names carry a random word.
 */
import { randomInt, randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import type { Client } from '@temporalio/client';
import type { Application } from '../../stack/application';
import { createAuthService } from '../../src/auth/service';
import {
  connectTemporal,
  createKey,
  expectLedgerInvariants,
  httpClient,
  startTestApplication,
  testRail,
  uniqueTaskQueue,
  type HttpClient,
  type HttpResponse,
} from '../support/harness';
import { balancesOf, count, expectErrorEnvelope, ISO_RE, UUID_RE } from './helpers';
import { signRailCallback, unixSeconds } from '../../src/rail/signature';

type App = Application & { url: string };

let app: App;
let admin: HttpClient;
let officer: HttpClient;
let officerKeyId: string;
let officer2: HttpClient;
let temporal: { client: Client; close: () => Promise<void> };
const rail = testRail();

/** GBP → USD for the compliance amount threshold: 8000.00 GBP is 10000 USD. */
const GBP_USD = '1.25';

beforeAll(async () => {
  app = await startTestApplication();
  admin = httpClient(app.url, (await createAuthService({ db: app.db }).createKey({ role: 'admin', label: 'payouts e2e' })).key);
  // Officers' keys come from another admin: keys minted by the admin who makes the payouts may not
  // decide on them (maker-checker).
  const keyAdmin = httpClient(app.url, await createKey(app.db, 'admin'));
  const k1 = await keyAdmin.post('/v1/api-keys', { role: 'compliance', label: 'payout officer one' });
  const k2 = await keyAdmin.post('/v1/api-keys', { role: 'compliance', label: 'payout officer two' });
  expect([k1.status, k2.status]).toEqual([201, 201]);
  officer = httpClient(app.url, k1.body.key);
  officerKeyId = k1.body.id;
  officer2 = httpClient(app.url, k2.body.key);
  const rate = await admin.request('PUT', '/v1/fx/rates/GBP/USD', { body: { rate: GBP_USD } });
  expect(rate.status).toBe(200);
  temporal = await connectTemporal();
});

afterAll(async () => {
  await temporal?.close();
  await app?.stop();
});

// ---------------------------------------------------------------------------------------------
// helpers

const money = (value: Decimal.Value, units = 2) => new Decimal(value).toFixed(units);
/** A random lower-case word, so names of this file match nothing another file creates. */
const word = () =>
  randomUUID()
    .replace(/-/g, '')
    .slice(0, 8)
    .replace(/\d/g, (d) => 'ghijklmnop'[Number(d)] as string);
const digits = (n: number) => Array.from({ length: n }, () => String(randomInt(10))).join('');

/** ISO 13616 check digits: the BBAN, then the country and "00", letters as 10..35, mod 97. */
function ibanCheck(country: string, bban: string): string {
  const numeric = `${bban}${country}00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  return String(98n - (BigInt(numeric) % 97n)).padStart(2, '0');
}
/** A fresh, valid GB IBAN (electronic format): GBkk BANK ssssss aaaaaaaa. */
function newIban(): string {
  const bban = `PAYO${digits(14)}`;
  return `GB${ibanCheck('GB', bban)}${bban}`;
}
/** The paper format: groups of four, space-separated. */
const paper = (iban: string) => iban.replace(/(.{4})/g, '$1 ').trim();

/** A customer (GB) with an account in `currency`, optionally funded; through the API. */
async function party(opts: { currency?: string; deposit?: string; name?: string } = {}) {
  const name = opts.name ?? `Payout Holder ${word()}`;
  const customer = await admin.post('/v1/customers', { name, country: 'GB' });
  expect(customer.status).toBe(201);
  const account = await admin.post('/v1/accounts', { customer_id: customer.body.id, currency: opts.currency ?? 'GBP' });
  expect(account.status).toBe(201);
  if (opts.deposit) expect((await admin.post(`/v1/accounts/${account.body.id}/deposits`, { amount: opts.deposit, reference: 'seed' })).status).toBe(201);
  return { name, customerId: customer.body.id as string, accountId: account.body.id as string };
}
type Party = Awaited<ReturnType<typeof party>>;

/** A beneficiary with a fresh IBAN (or account number): `railAccount` keys its rail controls. */
async function beneficiary(
  owner: Party,
  opts: { name?: string; country?: string; currency?: string; by?: 'iban' | 'account_number'; client?: HttpClient } = {},
) {
  const bank_details = opts.by === 'account_number' ? { account_number: digits(12), bank_code: 'PAYOGB22' } : { iban: newIban() };
  const res = await (opts.client ?? admin).post('/v1/beneficiaries', {
    customer_id: owner.customerId,
    name: opts.name ?? `Beneficiary ${word()}`,
    country: opts.country ?? 'GB',
    currency: opts.currency ?? 'GBP',
    bank_details,
  });
  expect(res.status).toBe(201);
  expect(res.body.bank_details).toEqual(bank_details);
  const railAccount = 'iban' in bank_details ? bank_details.iban : bank_details.account_number;
  return { ...res.body, railAccount } as { id: string; name: string; railAccount: string; [k: string]: unknown };
}

async function railControls(account: string, controls: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${rail.url}/controls/${encodeURIComponent(account)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(controls),
  });
  expect(res.status).toBe(200);
}

/** The rail's own record of a payment (404 → undefined). */
async function railPayment(payoutId: string): Promise<any> {
  const res = await fetch(`${rail.url}/payments/${payoutId}`);
  return res.status === 404 ? undefined : res.json();
}

function postPayout(client: HttpClient, body: Record<string, unknown>, key: string = randomUUID()): Promise<HttpResponse> {
  return client.post('/v1/payouts', body, { headers: { 'idempotency-key': key } });
}
const payoutBody = (from: Party, to: { id: string }, amount: string, extra: Record<string, unknown> = {}) => ({
  source_account_id: from.accountId,
  beneficiary_id: to.id,
  source_amount: amount,
  reference: 'payout e2e',
  ...extra,
});

/** Not final: processing and sent (on the rail), and held (awaiting a compliance decision). */
const OPEN = ['processing', 'sent', 'held'];

/** Polls GET /v1/payouts/:id until `done` holds (by default: a final status). */
async function awaitPayout(client: HttpClient, id: string, done: (p: any) => boolean = (p) => !OPEN.includes(p.status), timeoutMs = 45_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/v1/payouts/${id}`);
    expect(res.status).toBe(200);
    if (done(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`payout ${id} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The payout's final representation: the POST body when final, else polled. */
async function finalOf(client: HttpClient, res: HttpResponse): Promise<any> {
  expect([201, 202]).toContain(res.status);
  if (res.status === 201 && !OPEN.includes(res.body.status)) return res.body;
  return awaitPayout(client, res.body.id);
}

/** A payout that the USD amount threshold holds: 201, held, 12 quarantined. */
async function heldPayout(client: HttpClient, from: Party, to: { id: string }, amount = '8000.00') {
  const res = await postPayout(client, payoutBody(from, to, amount, { reference: 'large payout' }));
  expect({ status: res.status, payout: res.body?.status, code: res.body?.response_code }).toEqual({ status: 201, payout: 'held', code: '12' });
  return res.body;
}

const decide = (client: HttpClient, id: string, decision: 'release' | 'reject', reason = 'documents checked') => client.post(`/v1/payouts/${id}/${decision}`, { reason });

async function expectBalances(accountId: string, expected: { posted: Decimal.Value; pending: Decimal.Value; available: Decimal.Value }) {
  expect(await balancesOf(admin, accountId)).toEqual({ posted: money(expected.posted), pending: money(expected.pending), available: money(expected.available) });
}
const settledBalance = (amount: Decimal.Value) => ({ posted: amount, pending: 0, available: amount });

/** The payout's ledger transactions, oldest first, each with its entries as "purpose/customer currency amount". */
async function ledgerOf(payoutId: string): Promise<Array<{ id: string; kind: string; entries: Record<string, string> }>> {
  const txs = await app.db('ledger_transactions').where({ transfer_id: payoutId }).orderBy('created_at').orderBy('id');
  const out = [];
  for (const tx of txs) {
    const entries = await app.db('ledger_entries as e').join('accounts as a', 'a.id', 'e.account_id').where('e.transaction_id', tx.id).orderBy('e.seq').select('e.amount', 'e.currency', 'a.system_purpose', 'a.id');
    out.push({
      id: tx.id as string,
      kind: tx.kind as string,
      entries: Object.fromEntries(entries.map((e: any) => [`${e.system_purpose ?? e.id} ${e.currency.trim()}`, new Decimal(e.amount).toFixed(2)])),
    });
  }
  // Reversals are posted after what they reverse; order by the first entry's seq to be exact.
  const firstSeq = async (id: string) => Number((await app.db('ledger_entries').where({ transaction_id: id }).min<{ m: string }[]>({ m: 'seq' }))[0]?.m);
  const seqs = new Map(await Promise.all(out.map(async (t) => [t.id, await firstSeq(t.id)] as const)));
  return out.sort((a, b) => (seqs.get(a.id) as number) - (seqs.get(b.id) as number));
}

// --- system accounts, by delta -----------------------------------------------------------------

type Purpose = 'payouts_in_transit' | 'funding' | 'fee_revenue' | 'spread_revenue' | 'fx_position';
type SystemSnapshot = { key: string; id: string; own: boolean; posted: string; pending: string; available: string; entryIds: Set<string> };
/** Accounts nobody else posts to: no entry but this file's payouts' may appear on them. */
const OWN_SYSTEM = new Set(['payouts_in_transit GBP', 'funding GBP', 'fee_revenue GBP', 'spread_revenue GBP']);

async function snapshotSystem(wanted: Array<[Purpose, string]>): Promise<SystemSnapshot[]> {
  return app.db.transaction(
    async (trx) => {
      const out: SystemSnapshot[] = [];
      for (const [purpose, currency] of wanted) {
        const acc = await trx('accounts').where({ kind: 'system', system_purpose: purpose, currency }).first('id', 'posted', 'pending', 'available');
        expect(acc).toBeDefined();
        const ids = (await trx('ledger_entries').where({ account_id: acc.id }).pluck('id')) as string[];
        const key = `${purpose} ${currency}`;
        out.push({ key, id: acc.id, own: OWN_SYSTEM.has(key), posted: acc.posted, pending: acc.pending, available: acc.available, entryIds: new Set(ids) });
      }
      return out;
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

/**
 * How posted/pending/available of each system account moved since the snapshot, net of entries
 * that other transactions (not these payouts') added meanwhile; on this file's own accounts there
 * must be none.
 */
async function systemDeltas(before: SystemSnapshot[], payoutIds: string[]): Promise<Record<string, { posted: string; pending: string; available: string }>> {
  return app.db.transaction(
    async (trx) => {
      const out: Record<string, { posted: string; pending: string; available: string }> = {};
      for (const s of before) {
        const acc = await trx('accounts').where({ id: s.id }).first('posted', 'pending', 'available');
        const added = (await trx('ledger_entries as e')
          .join('ledger_transactions as t', 't.id', 'e.transaction_id')
          .where('e.account_id', s.id)
          .select('e.id', 'e.amount', 't.transfer_id')).filter((e: any) => !s.entryIds.has(e.id));
        const foreign = added.filter((e: any) => !payoutIds.includes(e.transfer_id));
        if (s.own) expect({ account: s.key, foreign: foreign.length }).toEqual({ account: s.key, foreign: 0 });
        const foreignSum = foreign.reduce((sum: Decimal, e: any) => sum.plus(e.amount), new Decimal(0));
        out[s.key] = {
          posted: new Decimal(acc.posted).minus(s.posted).minus(foreignSum).toFixed(2),
          pending: new Decimal(acc.pending).minus(s.pending).toFixed(2),
          available: new Decimal(acc.available).minus(s.available).minus(foreignSum).toFixed(2),
        };
      }
      return out;
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}
const moved = (amount: Decimal.Value) => ({ posted: money(amount), pending: '0.00', available: money(amount) });
const GBP_PAYOUT_ACCOUNTS: Array<[Purpose, string]> = [
  ['payouts_in_transit', 'GBP'],
  ['funding', 'GBP'],
  ['fee_revenue', 'GBP'],
];
const systemId = async (purpose: Purpose, currency: string): Promise<string> =>
  (await app.db('accounts').where({ kind: 'system', system_purpose: purpose, currency }).first('id')).id;

/** POST /rail/events with exactly these bytes and headers (a captured callback, say). */
async function postRailCallback(raw: string, headers: Record<string, string>): Promise<HttpResponse> {
  const res = await fetch(`${app.url}/rail/events`, { method: 'POST', headers, body: raw });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** How a test callback is signed: with this secret (now, or at `at` unix seconds), or not at all (null). */
type RailSigning = string | null | { secret: string; at: number };
/** A rail callback's bytes and headers, signed as the rail signs them (src/rail/signature.ts). */
function railCallback(body: unknown, signing: RailSigning, extraHeaders: Record<string, string> = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signing !== null) Object.assign(headers, typeof signing === 'string' ? signRailCallback(signing, raw) : signRailCallback(signing.secret, raw, signing.at));
  return { raw, headers: { ...headers, ...extraHeaders } };
}

async function expectRailEvent(body: unknown, signing: RailSigning, status: number, errorCode?: string, extraHeaders?: Record<string, string>) {
  const { raw, headers } = railCallback(body, signing, extraHeaders);
  const res = await postRailCallback(raw, headers);
  expect({ status: res.status, code: res.body?.errors?.[0]?.error_code }).toEqual({ status, code: errorCode });
  if (errorCode) expectErrorEnvelope(res, status, errorCode);
  return res.body;
}

/** The railEvent signals a payout's workflow has received (none must come from a refused callback). */
async function railSignals(workflowId: string): Promise<number> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'railEvent').length;
}

/** Waits for the payout posted with this idempotency key to have a row matching `where`. */
async function payoutRow(key: string, where: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let row: any;
  while (!(row = await app.db('transfers').where({ idempotency_key: key, ...where }).first())) {
    if (Date.now() > deadline) throw new Error(`no payout ${JSON.stringify(where)} for ${key}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return row;
}

// ---------------------------------------------------------------------------------------------

describe('beneficiaries', () => {
  test('an IBAN (paper format accepted, stored electronic), account number + bank code; bad checksum, both or neither → 422', async () => {
    const owner = await party();
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);
    const iban = newIban();
    const created = await admin.post('/v1/beneficiaries', {
      customer_id: owner.customerId,
      name: 'Ada Lovelace',
      country: 'GB',
      currency: 'GBP',
      bank_details: { iban: paper(iban) },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/beneficiaries/${created.body.id}`);
    expect(created.body).toEqual({
      id: expect.stringMatching(UUID_RE),
      customer_id: owner.customerId,
      name: 'Ada Lovelace',
      country: 'GB',
      currency: 'GBP',
      bank_details: { iban },
      status: 'active',
      created_at: expect.stringMatching(ISO_RE),
    });
    expect((await app.db('beneficiaries').where({ id: created.body.id }).first()).bank_details).toEqual({ iban });

    // One check digit off: the mod-97 checksum fails.
    const badCheck = `${iban.slice(0, 2)}${String((Number(iban.slice(2, 4)) % 97) + 1).padStart(2, '0')}${iban.slice(4)}`;
    const base = { customer_id: owner.customerId, name: 'Ada Lovelace', country: 'GB', currency: 'GBP' };
    expectErrorEnvelope(await admin.post('/v1/beneficiaries', { ...base, bank_details: { iban: badCheck } }), 422, 'invalid_value', '#/bank_details/iban');
    expectErrorEnvelope(await admin.post('/v1/beneficiaries', { ...base, bank_details: { iban: 'not an iban' } }), 422, 'invalid_value', '#/bank_details/iban');

    const accountNumber = digits(10);
    const byAccount = await admin.post('/v1/beneficiaries', { ...base, name: 'Grace Hopper', bank_details: { account_number: accountNumber, bank_code: 'BARCGB22' } });
    expect(byAccount.status).toBe(201);
    expect(byAccount.body).toMatchObject({ name: 'Grace Hopper', bank_details: { account_number: accountNumber, bank_code: 'BARCGB22' }, status: 'active' });

    for (const bank_details of [{ iban, account_number: accountNumber, bank_code: 'BARCGB22' }, {}, { account_number: accountNumber }, { account_number: '12', bank_code: 'BARCGB22' }]) {
      const res = await admin.post('/v1/beneficiaries', { ...base, bank_details });
      expect({ bank_details, status: res.status }).toEqual({ bank_details, status: 422 });
      expectErrorEnvelope(res, 422, res.body.errors[0].error_code);
      expect(res.body.errors[0].path).toMatch(/^#\/bank_details/);
    }
    expectErrorEnvelope(await admin.post('/v1/beneficiaries', { ...base, country: 'gb', bank_details: { iban } }), 422, 'invalid_value', '#/country');
    expectErrorEnvelope(await admin.post('/v1/beneficiaries', { ...base, currency: 'XXX', bank_details: { iban } }), 422, 'currency_not_supported', '#/currency');
    expect(await count(app.db('beneficiaries').where({ customer_id: owner.customerId }))).toBe(2);
    // Beneficiaries move no money.
    await expectBalances(owner.accountId, settledBalance(0));
    expect(await systemDeltas(before, [])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved(0), 'fee_revenue GBP': moved(0) });
    await expectLedgerInvariants(app.db);
  });

  test('client keys create, read and list only their own customer’s beneficiaries; payouts only to them', async () => {
    const alice = await party({ deposit: '50.00' });
    const bob = await party();
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);
    const clientA = httpClient(app.url, await createKey(app.db, 'client', alice.customerId));
    const clientB = httpClient(app.url, await createKey(app.db, 'client', bob.customerId));

    const mine = await beneficiary(alice, { client: clientA });
    const second = await beneficiary(alice, { client: clientA, by: 'account_number' });
    const bobs = await beneficiary(bob, { client: clientB });
    // For another customer: as if it did not exist.
    const foreign = await clientA.post('/v1/beneficiaries', { customer_id: bob.customerId, name: 'Mallory', country: 'GB', currency: 'GBP', bank_details: { iban: newIban() } });
    expectErrorEnvelope(foreign, 422, 'customer_not_found', '#/customer_id');

    expect((await clientA.get(`/v1/beneficiaries/${mine.id}`)).body).toMatchObject({ id: mine.id, customer_id: alice.customerId });
    expectErrorEnvelope(await clientA.get(`/v1/beneficiaries/${bobs.id}`), 404, 'not_found');
    expectErrorEnvelope(await clientB.get(`/v1/beneficiaries/${mine.id}`), 404, 'not_found');
    expectErrorEnvelope(await admin.get(`/v1/beneficiaries/${randomUUID()}`), 404, 'not_found');
    expect((await admin.get(`/v1/beneficiaries/${bobs.id}`)).body.id).toBe(bobs.id);
    expect((await officer.get(`/v1/beneficiaries/${bobs.id}`)).body.id).toBe(bobs.id);

    // A client's list is its own, newest first, whatever customer_id it asks for.
    const listA = await clientA.get('/v1/beneficiaries?limit=100');
    expect(listA.status).toBe(200);
    expect(listA.body.data.map((b: any) => b.id)).toEqual([second.id, mine.id]);
    expect(listA.body.next_cursor).toBeNull();
    expect((await clientA.get(`/v1/beneficiaries?customer_id=${bob.customerId}`)).body.data).toEqual([]);
    const byAdmin = await admin.get(`/v1/beneficiaries?customer_id=${alice.customerId}&limit=1`);
    expect(byAdmin.body.data.map((b: any) => b.id)).toEqual([second.id]);
    const page2 = await admin.get(`/v1/beneficiaries?customer_id=${alice.customerId}&limit=1&cursor=${encodeURIComponent(byAdmin.body.next_cursor)}`);
    expect(page2.body).toEqual({ data: [expect.objectContaining({ id: mine.id })], next_cursor: null });

    // A payout to another customer's beneficiary is refused before anything is written.
    const toBob = await postPayout(clientA, payoutBody(alice, bobs, '5.00'));
    expectErrorEnvelope(toBob, 422, 'beneficiary_not_found', '#/beneficiary_id');
    expectErrorEnvelope(await postPayout(clientA, payoutBody(alice, { id: randomUUID() }, '5.00')), 422, 'beneficiary_not_found', '#/beneficiary_id');
    expectErrorEnvelope(await clientA.post('/v1/payouts', payoutBody(alice, mine, '5.00')), 422, 'idempotency_key_missing');
    expect(await count(app.db('transfers').where({ source_account_id: alice.accountId }))).toBe(0);
    await expectBalances(alice.accountId, settledBalance('50.00'));
    expect(await systemDeltas(before, [])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved(0), 'fee_revenue GBP': moved(0) });
    await expectLedgerInvariants(app.db);
  });
});

describe('payouts through the rail', () => {
  test('approve: 201 completed with rail reference, sent and settled; posting then settlement; idempotent', async () => {
    const holder = await party({ deposit: '1000.00' });
    const client = httpClient(app.url, await createKey(app.db, 'client', holder.customerId));
    const ben = await beneficiary(holder, { client });
    const inTransit = await systemId('payouts_in_transit', 'GBP');
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);

    const key = randomUUID();
    const body = payoutBody(holder, ben, '250.00', { reference: 'invoice 42', external_id: `po-${randomUUID()}`, metadata: { order: '42' } });
    const res = await postPayout(client, body, key);
    expect(res.headers.get('location')).toBe(`/v1/payouts/${res.body.id}`);
    const p = await finalOf(client, res);
    expect(p).toMatchObject({
      id: expect.stringMatching(UUID_RE),
      kind: 'payout',
      status: 'completed',
      response_code: '1',
      message: 'success',
      source_account_id: holder.accountId,
      destination_account_id: inTransit,
      beneficiary_id: ben.id,
      operation_type: 'payout',
      source_amount: { amount: '250.00', currency: 'GBP' },
      target_amount: { amount: '250.00', currency: 'GBP' },
      fx_rate: '1',
      calculated_fees: { payout: { amount: { amount: '0.00', currency: 'GBP' }, id: expect.stringMatching(/^fee_/), tx_description: null } },
      reference: 'invoice 42',
      metadata: { order: '42' },
      rail_reference: expect.stringMatching(/^RAIL[0-9A-F]{12}$/),
      sent_at: expect.stringMatching(ISO_RE),
      settled_at: expect.stringMatching(ISO_RE),
      workflow_id: `payout-${res.body.id}`,
      completed_at: expect.stringMatching(ISO_RE),
    });
    expect(new Date(p.settled_at).getTime()).toBeGreaterThanOrEqual(new Date(p.sent_at).getTime());
    expect(p.source_entry).toMatchObject({ account_id: holder.accountId, type: 'debit', amount: '250.00', currency: 'GBP', balance: '750.00' });
    // The client sees no entry on the bank's in-transit account.
    expect(p.destination_entry).toBeNull();
    expect((await admin.get(`/v1/payouts/${p.id}`)).body.destination_entry).toMatchObject({ account_id: inTransit, type: 'credit', amount: '250.00' });

    // The rail has it, settled, to the beneficiary's IBAN.
    expect(await railPayment(p.id)).toMatchObject({ payout_id: p.id, rail_reference: p.rail_reference, status: 'settled', currency: 'GBP', account: ben.railAccount });
    expect(new Decimal((await railPayment(p.id)).amount).toFixed(2)).toBe('250.00');

    // Ledger: source → in transit, then in transit → funding (the money left the bank).
    const row = await app.db('transfers').where({ id: p.id }).first();
    const ledger = await ledgerOf(p.id);
    expect(ledger).toEqual([
      { id: row.ledger_transaction_id, kind: expect.any(String), entries: { [`${holder.accountId} GBP`]: '-250.00', 'payouts_in_transit GBP': '250.00' } },
      { id: row.settlement_transaction_id, kind: 'payout_settlement', entries: { 'payouts_in_transit GBP': '-250.00', 'funding GBP': '250.00' } },
    ]);
    expect(row.reversal_transaction_id).toBeNull();
    // Approved at once, it was posted in the same commit as its screening: nothing was reserved.
    expect(await app.db('holds').where({ transfer_id: p.id }).pluck('status')).toEqual([]);
    await expectBalances(holder.accountId, settledBalance('750.00'));
    expect(await systemDeltas(before, [p.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved('250.00'), 'fee_revenue GBP': moved(0) });

    // Idempotency: the same key and body replay the payout; another body with the key is refused.
    const replay = await postPayout(client, body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toMatchObject({ id: p.id, status: 'completed', rail_reference: p.rail_reference });
    expectErrorEnvelope(await postPayout(client, { ...body, source_amount: '251.00' }, key), 422, 'idempotency_key_reused', 'header/Idempotency-Key');
    expect(await count(app.db('transfers').where({ source_account_id: holder.accountId }))).toBe(1);
    expect(await count(app.db('ledger_transactions').where({ transfer_id: p.id }))).toBe(2);

    // Visibility: the payer's client and staff; nobody else's client; payouts only.
    const stranger = httpClient(app.url, await createKey(app.db, 'client', (await party()).customerId));
    expectErrorEnvelope(await stranger.get(`/v1/payouts/${p.id}`), 404, 'not_found');
    expect((await officer.get(`/v1/payouts/${p.id}`)).status).toBe(200);
    expectErrorEnvelope(await admin.get(`/v1/payouts/${randomUUID()}`), 404, 'not_found');

    await expectBalances(holder.accountId, settledBalance('750.00'));
    expect(await systemDeltas(before, [p.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved('250.00'), 'fee_revenue GBP': moved(0) });
    await expectLedgerInvariants(app.db);
  });

  test('transient 5xx: the rail answers 503 three times, the send is retried with backoff and the payout settles once', async () => {
    const holder = await party({ deposit: '300.00' });
    const ben = await beneficiary(holder, { by: 'account_number' });
    await railControls(ben.railAccount, { transient_failures: 3 });
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);

    const started = Date.now();
    const p = await finalOf(admin, await postPayout(admin, payoutBody(holder, ben, '120.00')));
    expect(p).toMatchObject({ status: 'completed', response_code: '1', rail_reference: expect.stringMatching(/^RAIL/), settled_at: expect.stringMatching(ISO_RE) });
    // Backoff 0.5 s + 1 s + 2 s before the fourth attempt went through.
    expect(new Date(p.sent_at).getTime() - started).toBeGreaterThanOrEqual(3_000);

    // Temporal's history: one sendPayout activity, completed on its fourth attempt.
    const history = await temporal.client.workflow.getHandle(p.workflow_id).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendPayout');
    expect(scheduled).toHaveLength(1);
    const scheduledId = String(scheduled[0]?.eventId);
    const startedEvent = events.find((e) => e.activityTaskStartedEventAttributes && String(e.activityTaskStartedEventAttributes.scheduledEventId) === scheduledId);
    expect(startedEvent?.activityTaskStartedEventAttributes?.attempt).toBe(4);
    expect(events.filter((e) => e.activityTaskCompletedEventAttributes && String(e.activityTaskCompletedEventAttributes.scheduledEventId) === scheduledId)).toHaveLength(1);
    expect(await railPayment(p.id)).toMatchObject({ status: 'settled', rail_reference: p.rail_reference, account: ben.railAccount });

    expect(await count(app.db('ledger_transactions').where({ transfer_id: p.id, kind: 'payout_settlement' }))).toBe(1);
    expect(await count(app.db('ledger_transactions').where({ transfer_id: p.id }))).toBe(2);
    await expectBalances(holder.accountId, settledBalance('180.00'));
    expect(await systemDeltas(before, [p.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved('120.00'), 'fee_revenue GBP': moved(0) });
    await expectLedgerInvariants(app.db);
  });

  test('permanent rejection: the posting is reversed (fee included), the payout fails 101, nothing settles', async () => {
    const holder = await party({ deposit: '100.00' });
    const ben = await beneficiary(holder);
    await railControls(ben.railAccount, { reject: 'account closed' });
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);

    // An admin's fee override, so the refund of the fee shows.
    const res = await postPayout(admin, payoutBody(holder, ben, '100.00', { override_fees: [{ type: 'payout', fixed: { amount: '1.50', currency: 'GBP' } }] }));
    const p = await finalOf(admin, res);
    expect(p).toMatchObject({
      status: 'failed',
      response_code: '101',
      message: expect.stringContaining('rejected by the payout rail: account closed'),
      source_amount: { amount: '100.00', currency: 'GBP' },
      target_amount: { amount: '98.50', currency: 'GBP' },
      calculated_fees: { payout: { amount: { amount: '1.50', currency: 'GBP' } } },
      rail_reference: null,
      sent_at: null,
      settled_at: null,
      completed_at: expect.stringMatching(ISO_RE),
    });
    expect(p.message).toMatch(/^declined: /);
    expect(await railPayment(p.id)).toMatchObject({ status: 'rejected', reason: 'account closed' });

    const row = await app.db('transfers').where({ id: p.id }).first();
    expect(row.settlement_transaction_id).toBeNull();
    const ledger = await ledgerOf(p.id);
    const posting = { [`${holder.accountId} GBP`]: '-100.00', 'fee_revenue GBP': '1.50', 'payouts_in_transit GBP': '98.50' };
    expect(ledger).toEqual([
      { id: row.ledger_transaction_id, kind: expect.any(String), entries: posting },
      { id: row.reversal_transaction_id, kind: 'payout_reversal', entries: Object.fromEntries(Object.entries(posting).map(([k, v]) => [k, new Decimal(v).neg().toFixed(2)])) },
    ]);
    expect(await count(app.db('ledger_transactions').where({ transfer_id: p.id, kind: 'payout_settlement' }))).toBe(0);

    // All of it back: principal and fee; in transit where it was; funding untouched.
    await expectBalances(holder.accountId, settledBalance('100.00'));
    expect(await systemDeltas(before, [p.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved(0), 'fee_revenue GBP': moved(0) });
    // Its workflow is closed: a late rail event is refused.
    await temporal.client.workflow.getHandle(p.workflow_id).result();
    await expectRailEvent({ payout_id: p.id, rail_reference: 'RAILLATE', event: 'settled' }, rail.callbackSecret, 409, 'payout_closed');
    await expectLedgerInvariants(app.db);
  });

  test('late return: completed first, then returned 606 with the settlement and the posting reversed', async () => {
    const holder = await party({ deposit: '500.00' });
    const ben = await beneficiary(holder);
    await railControls(ben.railAccount, { return_after_ms: 1000 });
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);

    const res = await postPayout(admin, payoutBody(holder, ben, '300.00'));
    const completed = await awaitPayout(admin, res.body.id, (x) => x.status !== 'processing' && x.status !== 'sent');
    expect(completed).toMatchObject({ status: 'completed', response_code: '1', settled_at: expect.stringMatching(ISO_RE) });
    await expectBalances(holder.accountId, settledBalance('200.00'));
    expect((await systemDeltas(before, [completed.id]))['funding GBP']).toEqual(moved('300.00'));

    const returned = await awaitPayout(admin, completed.id, (x) => x.status === 'returned', 20_000);
    expect(returned).toMatchObject({
      status: 'returned',
      response_code: '606',
      message: expect.stringMatching(/^contact_support: returned by the beneficiary's bank: beneficiary account closed/),
      rail_reference: completed.rail_reference,
      settled_at: completed.settled_at,
    });
    expect(await railPayment(completed.id)).toMatchObject({ status: 'returned', reason: 'beneficiary account closed' });
    expect(await temporal.client.workflow.getHandle(completed.workflow_id).result()).toMatchObject({ status: 'returned', responseCode: '606' });

    const row = await app.db('transfers').where({ id: completed.id }).first();
    const ledger = await ledgerOf(completed.id);
    expect(ledger).toEqual([
      { id: row.ledger_transaction_id, kind: expect.any(String), entries: { [`${holder.accountId} GBP`]: '-300.00', 'payouts_in_transit GBP': '300.00' } },
      { id: row.settlement_transaction_id, kind: 'payout_settlement', entries: { 'payouts_in_transit GBP': '-300.00', 'funding GBP': '300.00' } },
      { id: expect.stringMatching(UUID_RE), kind: 'payout_reversal', entries: { 'payouts_in_transit GBP': '300.00', 'funding GBP': '-300.00' } },
      { id: row.reversal_transaction_id, kind: 'payout_reversal', entries: { [`${holder.accountId} GBP`]: '300.00', 'payouts_in_transit GBP': '-300.00' } },
    ]);
    await expectBalances(holder.accountId, settledBalance('500.00'));
    expect(await systemDeltas(before, [completed.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved(0), 'fee_revenue GBP': moved(0) });
    await expectRailEvent({ payout_id: completed.id, rail_reference: completed.rail_reference, event: 'returned' }, rail.callbackSecret, 409, 'payout_closed');
    await expectLedgerInvariants(app.db);
  });

  test('late return to a frozen account: the reversal still lands (undoing is never refused) and the payout ends returned', async () => {
    const holder = await party({ deposit: '400.00' });
    const ben = await beneficiary(holder);
    await railControls(ben.railAccount, { return_after_ms: 1500 });
    const res = await postPayout(admin, payoutBody(holder, ben, '150.00'));
    const completed = await awaitPayout(admin, res.body.id, (x) => x.status !== 'processing' && x.status !== 'sent');
    expect(completed.status).toBe('completed');
    // Fraud staff freeze the source account before the return arrives.
    await app.db('accounts').where({ id: holder.accountId }).update({ status: 'frozen' });
    const returned = await awaitPayout(admin, completed.id, (x) => x.status === 'returned' || x.status === 'failed', 20_000);
    expect(returned).toMatchObject({ status: 'returned', response_code: '606' });
    const row = await app.db('transfers').where({ id: completed.id }).first();
    expect(row.reversal_transaction_id).toEqual(expect.stringMatching(UUID_RE));
    await expectBalances(holder.accountId, settledBalance('400.00'));
    await expectLedgerInvariants(app.db);
  });

  test('cross-currency EUR → GBP with a payout tariff and a spread: fees and spread booked, then settled in GBP', async () => {
    // 1 GBP = 1.17 EUR, a 0.5% EUR/GBP spread (fx_rate 1.17585) and a payout fee of 1.00 EUR + 0.2%.
    expect((await admin.request('PUT', '/v1/fx/rates/GBP/EUR', { body: { rate: '1.17' } })).status).toBe(200);
    expect((await admin.request('PUT', '/v1/fx/spreads/EUR/GBP', { body: { percentage: '0.5' } })).status).toBe(200);
    const ranges = [{ min_amount: '0', max_amount: null, fixed_amount: '1.00', percentage: '0.2', tx_description: 'Payout fee' }];
    const existing = await app.db('tariffs').where({ operation: 'payout', currency: 'EUR' }).first('id');
    const tariff = existing ? await admin.request('PUT', `/v1/tariffs/${existing.id}`, { body: { ranges } }) : await admin.post('/v1/tariffs', { operation: 'payout', currency: 'EUR', ranges });
    expect(tariff.status).toBe(existing ? 200 : 201);

    const holder = await party({ currency: 'EUR', deposit: '1000.00' });
    const ben = await beneficiary(holder, { currency: 'GBP' });
    const before = await snapshotSystem([
      ['payouts_in_transit', 'GBP'],
      ['funding', 'GBP'],
      ['fee_revenue', 'EUR'],
      ['spread_revenue', 'EUR'],
      ['fx_position', 'EUR'],
      ['fx_position', 'GBP'],
    ]);

    const S = new Decimal('500.00');
    const fee = new Decimal('1.00').plus(S.times('0.2').div(100)).toDecimalPlaces(2, Decimal.ROUND_HALF_UP); // 2.00
    const fxRate = new Decimal('1.17').times('1.005'); // 1.17585
    const T = S.minus(fee).div(fxRate).toDecimalPlaces(2, Decimal.ROUND_DOWN); // 423.52
    const spread = T.times(fxRate.minus('1.17')).toDecimalPlaces(2, Decimal.ROUND_HALF_UP); // 2.48
    const atMarket = S.minus(fee).minus(spread); // 495.52

    const p = await finalOf(admin, await postPayout(admin, payoutBody(holder, ben, money(S))));
    expect(p).toMatchObject({
      status: 'completed',
      response_code: '1',
      operation_type: 'payout',
      source_amount: { amount: '500.00', currency: 'EUR' },
      target_amount: { amount: money(T), currency: 'GBP' },
      market_rate: '1.17',
      fx_rate: fxRate.toString(),
      calculated_fees: {
        payout: { amount: { amount: money(fee), currency: 'EUR' }, id: expect.stringMatching(/^fee_/), tx_description: 'Payout fee' },
        account_to_account_fx_spread: { amount: { amount: money(spread), currency: 'EUR' }, id: expect.stringMatching(/^fee_/), tx_description: null },
      },
      rail_reference: expect.stringMatching(/^RAIL/),
      settled_at: expect.stringMatching(ISO_RE),
    });
    expect([money(fee), money(T), money(spread), money(atMarket)]).toEqual(['2.00', '423.52', '2.48', '495.52']);
    expect(await railPayment(p.id)).toMatchObject({ status: 'settled', currency: 'GBP', account: ben.railAccount });
    expect(new Decimal((await railPayment(p.id)).amount).toFixed(2)).toBe(money(T));

    const row = await app.db('transfers').where({ id: p.id }).first();
    expect(await ledgerOf(p.id)).toEqual([
      {
        id: row.ledger_transaction_id,
        kind: expect.any(String),
        entries: {
          [`${holder.accountId} EUR`]: money(S.neg()),
          'fee_revenue EUR': money(fee),
          'spread_revenue EUR': money(spread),
          'fx_position EUR': money(atMarket),
          'fx_position GBP': money(T.neg()),
          'payouts_in_transit GBP': money(T),
        },
      },
      { id: row.settlement_transaction_id, kind: 'payout_settlement', entries: { 'payouts_in_transit GBP': money(T.neg()), 'funding GBP': money(T) } },
    ]);
    await expectBalances(holder.accountId, settledBalance('500.00'));
    expect(await systemDeltas(before, [p.id])).toEqual({
      'payouts_in_transit GBP': moved(0),
      'funding GBP': moved(T),
      'fee_revenue EUR': moved(fee),
      'spread_revenue EUR': moved(spread),
      'fx_position EUR': moved(atMarket),
      'fx_position GBP': moved(T.neg()),
    });
    await expectLedgerInvariants(app.db);
  });
});

describe('compliance on payouts', () => {
  test('held ≥ 10000 USD: queued with the beneficiary; staff other than compliance refused; released once; sent and settled', async () => {
    const holder = await party({ deposit: '20000.00' });
    const ben = await beneficiary(holder);
    const inTransit = await systemId('payouts_in_transit', 'GBP');
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);
    const client = httpClient(app.url, await createKey(app.db, 'client', holder.customerId));

    // 8000.00 GBP × 1.25 = 10000 USD: the threshold itself holds.
    const held = await heldPayout(client, holder, ben);
    expect(held).toMatchObject({ kind: 'payout', status: 'held', response_code: '12', rail_reference: null, sent_at: null, settled_at: null, completed_at: null, source_entry: null });
    expect(held.message).toMatch(/^quarantined: 10000(\.0+)? USD is at or above the 10000 USD threshold/);
    await expectBalances(holder.accountId, { posted: '20000.00', pending: '8000.00', available: '12000.00' });
    expect(await count(app.db('ledger_transactions').where({ transfer_id: held.id }))).toBe(0);
    expect(await railPayment(held.id)).toBeUndefined();

    const queued = (await officer.get('/v1/compliance/holds?status=pending&limit=200')).body.data.find((h: any) => h.id === held.id);
    expect(queued).toMatchObject({
      subject_type: 'payout',
      beneficiary_id: ben.id,
      id: held.id,
      status: 'held',
      response_code: '12',
      source_amount: { amount: '8000.00', currency: 'GBP' },
      target_amount: { amount: '8000.00', currency: 'GBP' },
      parties: { source: { account_id: holder.accountId, holder: holder.name }, destination: { account_id: inTransit, holder: ben.name } },
      rule_hits: [expect.objectContaining({ kind: 'amount_threshold', action: 'hold' })],
      decision: null,
    });

    // Only compliance decides.
    expectErrorEnvelope(await decide(client, held.id, 'release'), 403, 'not_authorized');
    expectErrorEnvelope(await decide(admin, held.id, 'release'), 403, 'not_authorized');
    expectErrorEnvelope(await decide(officer, randomUUID(), 'release'), 404, 'not_found');

    // Two officers at once: one release counts, the other is refused.
    const started = Date.now();
    const [r1, r2] = await Promise.all([decide(officer, held.id, 'release', 'contract seen'), decide(officer2, held.id, 'release', 'contract seen too')]);
    const elapsed = Date.now() - started;
    expect([r1.status, r2.status].sort()).toEqual([200, 409]);
    const ok = r1.status === 200 ? r1 : r2;
    const refused = r1.status === 200 ? r2 : r1;
    expect(['already_decided', 'not_held']).toContain(refused.body.errors[0].error_code);
    // The release answers with the payout's outcome, not after the whole sync wait (10 s): the
    // payout's workflow stays open for its return window, its outcome comes long before.
    expect(ok.body).toMatchObject({ id: held.id, status: 'completed', response_code: '1', rail_reference: expect.stringMatching(/^RAIL/) });
    expect(elapsed).toBeLessThan(8_000);
    const done = await awaitPayout(officer, held.id);
    expect(done).toMatchObject({ status: 'completed', response_code: '1', settled_at: expect.stringMatching(ISO_RE) });
    expectErrorEnvelope(await decide(officer2, held.id, 'reject'), 409, 'not_held');
    expect(await railPayment(held.id)).toMatchObject({ status: 'settled', account: ben.railAccount });

    await expectBalances(holder.accountId, settledBalance('12000.00'));
    expect(await systemDeltas(before, [held.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved('8000.00'), 'fee_revenue GBP': moved(0) });
    const released = (await officer.get('/v1/compliance/holds?status=released&limit=200')).body.data.find((h: any) => h.id === held.id);
    expect(released).toMatchObject({ subject_type: 'payout', status: 'completed', decision: { decision: 'release' } });
    await expectLedgerInvariants(app.db);
  });

  test('maker-checker: the creating key cannot decide (403); another officer rejects: declined 651, funds released, nothing sent', async () => {
    const holder = await party({ deposit: '9000.00' });
    const ben = await beneficiary(holder, { by: 'account_number' });
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);
    const held = await heldPayout(admin, holder, ben, '8500.00');
    await expectBalances(holder.accountId, { posted: '9000.00', pending: '8500.00', available: '500.00' });

    // Only admins and clients create payouts: make the officer's key its maker.
    await app.db('transfers').where({ id: held.id }).update({ created_by_key_id: officerKeyId });
    expectErrorEnvelope(await decide(officer, held.id, 'release'), 403, 'maker_checker_violation');
    expectErrorEnvelope(await decide(officer, held.id, 'reject'), 403, 'maker_checker_violation');
    expect((await admin.get(`/v1/payouts/${held.id}`)).body.status).toBe('held');

    const rejected = await decide(officer2, held.id, 'reject', 'purpose of payment unclear');
    expect(rejected.status).toBe(200);
    const done = rejected.body.status === 'declined' ? rejected.body : await awaitPayout(officer2, held.id);
    expect(done).toMatchObject({ status: 'declined', response_code: '651', rail_reference: null, sent_at: null, settled_at: null });
    expect(done.message).toMatch(/^compliance_firewall: rejected by key:.*purpose of payment unclear/);
    expect(await app.db('holds').where({ transfer_id: held.id }).pluck('status')).toEqual(['voided']);
    expect(await count(app.db('ledger_transactions').where({ transfer_id: held.id }))).toBe(0);
    expect(await railPayment(held.id)).toBeUndefined();
    await expectBalances(holder.accountId, settledBalance('9000.00'));
    expect(await systemDeltas(before, [held.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved(0), 'fee_revenue GBP': moved(0) });
    await expectLedgerInvariants(app.db);
  });

  test('screening declines 651 before anything is reserved: a watch-listed beneficiary name, a beneficiary in IR', async () => {
    const tag = word();
    const listed = `Velkoran Dristemov ${tag}`;
    const entry = await admin.post('/v1/compliance/watchlist', { name: listed, program: 'TEST' });
    expect(entry.status).toBe(201);
    const holder = await party({ deposit: '200.00' });
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);

    const sanctioned = await beneficiary(holder, { name: `${tag.toUpperCase()} DRISTEMOV, Velkoran` });
    const p1 = await postPayout(admin, payoutBody(holder, sanctioned, '10.00'));
    expect(p1.status).toBe(201);
    expect(p1.body).toMatchObject({ status: 'declined', response_code: '651', source_entry: null, rail_reference: null });
    expect(p1.body.message).toMatch(/^compliance_firewall: beneficiary ".*" matches MANUAL entry "Velkoran Dristemov/);

    const iranian = await beneficiary(holder, { country: 'IR' });
    const p2 = await postPayout(admin, payoutBody(holder, iranian, '10.00'));
    expect(p2.status).toBe(201);
    expect(p2.body).toMatchObject({ status: 'declined', response_code: '651', source_entry: null });
    expect(p2.body.message).toBe('compliance_firewall: beneficiary is in a blocked country (IR).');

    for (const p of [p1.body, p2.body]) {
      expect(await app.db('holds').where({ transfer_id: p.id })).toEqual([]);
      expect(await count(app.db('ledger_transactions').where({ transfer_id: p.id }))).toBe(0);
      expect(await railPayment(p.id)).toBeUndefined();
    }
    await expectBalances(holder.accountId, settledBalance('200.00'));
    expect(await systemDeltas(before, [p1.body.id, p2.body.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved(0), 'fee_revenue GBP': moved(0) });
    await expectLedgerInvariants(app.db);
  });

  test('the worker restarts while a payout is held: a new process on the same task queue releases it and it settles', async () => {
    const queue = uniqueTaskQueue('payout-restart');
    const first = await startTestApplication({ taskQueue: queue });
    let firstRunning = true;
    let second: App | undefined;
    try {
      const viaFirst = httpClient(first.url, await createKey(app.db, 'admin'));
      const holder = await party({ deposit: '8000.75' });
      const ben = await beneficiary(holder);
      const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);
      const held = await heldPayout(viaFirst, holder, ben);
      await first.stop();
      firstRunning = false;

      second = await startTestApplication({ taskQueue: queue });
      const officerViaSecond = httpClient(second.url, (await httpClient(app.url, await createKey(app.db, 'admin')).post('/v1/api-keys', { role: 'compliance' })).body.key);
      const released = await decide(officerViaSecond, held.id, 'release', 'after restart');
      expect(released.status).toBe(200);
      const done = await awaitPayout(officerViaSecond, held.id);
      expect(done).toMatchObject({ status: 'completed', response_code: '1', rail_reference: expect.stringMatching(/^RAIL/), settled_at: expect.stringMatching(ISO_RE) });
      expect(await count(app.db('ledger_transactions').where({ transfer_id: held.id }))).toBe(2);
      expect(await railPayment(held.id)).toMatchObject({ status: 'settled', account: ben.railAccount });
      await expectBalances(holder.accountId, settledBalance('0.75'));
      expect(await systemDeltas(before, [held.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved('8000.00'), 'fee_revenue GBP': moved(0) });
      await expectLedgerInvariants(app.db);
    } finally {
      if (firstRunning) await first.stop();
      await second?.stop();
    }
  });
});

describe('/rail/events', () => {
  /** A payout the rail accepts at once but would settle only in 30 s (the workflow, asking it every 2 s, hears "accepted"). */
  async function sentPayout(amount: string) {
    const holder = await party({ deposit: '60.00' });
    const ben = await beneficiary(holder);
    await railControls(ben.railAccount, { settle_after_ms: 30_000 });
    const before = await snapshotSystem(GBP_PAYOUT_ACCOUNTS);
    const key = randomUUID();
    const posting = postPayout(admin, payoutBody(holder, ben, amount), key);
    const row = await payoutRow(key, { status: 'sent' });
    expect(row.rail_reference).toMatch(/^RAIL[0-9A-F]{12}$/);
    return { holder, before, posting, row };
  }

  /** Nothing a refused callback could have done: still sent, only the posting in the ledger, no signal heard. */
  async function expectStillSent(p: Awaited<ReturnType<typeof sentPayout>>, amount: string) {
    await new Promise((r) => setTimeout(r, 2_500)); // past a settlement check: the rail still says accepted
    expect((await admin.get(`/v1/payouts/${p.row.id}`)).body).toMatchObject({ status: 'sent', response_code: null, rail_reference: p.row.rail_reference, settled_at: null, completed_at: null });
    expect(await count(app.db('ledger_transactions').where({ transfer_id: p.row.id }))).toBe(1);
    await expectBalances(p.holder.accountId, settledBalance(new Decimal('60.00').minus(amount)));
    expect(await systemDeltas(p.before, [p.row.id])).toEqual({ 'payouts_in_transit GBP': moved(amount), 'funding GBP': moved(0), 'fee_revenue GBP': moved(0) });
    expect(await railSignals(p.row.workflow_id)).toBe(0);
  }

  /** The rail's genuine, signed settlement: heard, and the payout completes. */
  async function expectSettledBy(p: Awaited<ReturnType<typeof sentPayout>>, amount: string, callback: { raw: string; headers: Record<string, string> }) {
    const accepted = await postRailCallback(callback.raw, callback.headers);
    expect({ status: accepted.status, body: accepted.body }).toEqual({ status: 202, body: { accepted: true } });
    const done = await finalOf(admin, await p.posting);
    expect(done).toMatchObject({ id: p.row.id, status: 'completed', response_code: '1', rail_reference: p.row.rail_reference, settled_at: expect.stringMatching(ISO_RE) });
    expect(await count(app.db('ledger_transactions').where({ transfer_id: p.row.id, kind: 'payout_settlement' }))).toBe(1);
    expect(await systemDeltas(p.before, [p.row.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved(amount), 'fee_revenue GBP': moved(0) });
  }

  test('only signed callbacks are heard: unsigned, the old X-Rail-Secret, a wrong key, a tampered body, a stale or future timestamp → 401; the genuine one settles and its replay changes nothing', async () => {
    const p = await sentPayout('40.00');
    const event = { payout_id: p.row.id, rail_reference: p.row.rail_reference, event: 'settled' };
    await expectRailEvent(event, null, 401, 'invalid_signature');
    // The shared secret sent as it is (the scheme before signing) is no credential any more.
    await expectRailEvent(event, null, 401, 'invalid_signature', { 'x-rail-secret': rail.callbackSecret });
    await expectRailEvent(event, 'not-the-secret-at-all', 401, 'invalid_signature');
    await expectRailEvent(event, `${rail.callbackSecret}x`, 401, 'invalid_signature');
    // A captured callback replayed after the tolerance window (300 s), or one dated in the future: ten
    // minutes either way, from the moment of the request, so that a slow machine cannot bring it back inside.
    await expectRailEvent(event, { secret: rail.callbackSecret, at: unixSeconds() - 600 }, 401, 'invalid_signature');
    await expectRailEvent(event, { secret: rail.callbackSecret, at: unixSeconds() + 600 }, 401, 'invalid_signature');
    // A genuine signature over another body (a "returned" turned into a "settled"), or moved to another moment.
    const signedReturn = railCallback({ ...event, event: 'returned' }, rail.callbackSecret);
    expectErrorEnvelope(await postRailCallback(JSON.stringify(event), signedReturn.headers), 401, 'invalid_signature');
    const genuine = railCallback(event, rail.callbackSecret);
    const moved1s = { ...genuine.headers, 'x-rail-timestamp': String(Number(genuine.headers['x-rail-timestamp']) - 1) };
    expectErrorEnvelope(await postRailCallback(genuine.raw, moved1s), 401, 'invalid_signature');
    expectErrorEnvelope(await postRailCallback(genuine.raw, { ...genuine.headers, 'x-rail-signature': genuine.headers['x-rail-signature']!.toUpperCase() }), 401, 'invalid_signature');
    // Signed, but not a callback this API can act on: the envelope's usual answers.
    await expectRailEvent({ ...event, payout_id: randomUUID() }, rail.callbackSecret, 404, 'not_found');
    const bad = await expectRailEvent({ ...event, event: 'lost' }, rail.callbackSecret, 422, 'invalid_value');
    expect(bad.errors[0].path).toBe('#/event');
    await expectRailEvent('{"payout_id":', rail.callbackSecret, 400, 'malformed_json');
    await expectRailEvent(event, rail.callbackSecret, 415, 'unsupported_media_type', { 'content-type': 'text/plain' });
    await expectStillSent(p, '40.00');

    await expectSettledBy(p, '40.00', genuine);
    expect(await railSignals(p.row.workflow_id)).toBe(1);
    // Replayed inside the window it is heard again, and changes nothing: the settlement is idempotent.
    expect((await postRailCallback(genuine.raw, genuine.headers)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    expect(await railSignals(p.row.workflow_id)).toBe(2);
    expect((await admin.get(`/v1/payouts/${p.row.id}`)).body).toMatchObject({ status: 'completed', response_code: '1' });
    expect(await count(app.db('ledger_transactions').where({ transfer_id: p.row.id }))).toBe(2);
    expect(await systemDeltas(p.before, [p.row.id])).toEqual({ 'payouts_in_transit GBP': moved(0), 'funding GBP': moved('40.00'), 'fee_revenue GBP': moved(0) });
    await expectLedgerInvariants(app.db);
  });

  test('a correctly signed settlement naming a made-up rail_reference → 422 rail_reference_mismatch, not delivered: the payout stays as it was', async () => {
    const p = await sentPayout('25.00');
    const event = { payout_id: p.row.id, rail_reference: 'RAIL000000000000', event: 'settled' };
    const refused = await expectRailEvent(event, rail.callbackSecret, 422, 'rail_reference_mismatch');
    expect(refused.errors[0].path).toBe('#/rail_reference');
    await expectRailEvent({ ...event, rail_reference: p.row.rail_reference.toLowerCase() }, rail.callbackSecret, 422, 'rail_reference_mismatch');
    await expectRailEvent({ ...event, rail_reference: `${p.row.rail_reference} ` }, rail.callbackSecret, 422, 'rail_reference_mismatch');
    await expectRailEvent({ ...event, event: 'returned', reason: 'made up' }, rail.callbackSecret, 422, 'rail_reference_mismatch');
    await expectStillSent(p, '25.00');

    // The payout's own reference, signed: settled.
    await expectSettledBy(p, '25.00', railCallback({ ...event, rail_reference: p.row.rail_reference }, rail.callbackSecret));
    await expectLedgerInvariants(app.db);
  });

  test('a callback before the send has recorded its rail reference → 409 rail_reference_not_recorded (the rail retries), not delivered; the rail’s own callback then settles it', async () => {
    const holder = await party({ deposit: '60.00' });
    const ben = await beneficiary(holder);
    // The rail holds its answer to the send for 3 s: the payout is posted, on its way, with no reference yet.
    await railControls(ben.railAccount, { latency_ms: 3_000 });
    const key = randomUUID();
    const posting = postPayout(admin, payoutBody(holder, ben, '30.00'), key);
    const row = await payoutRow(key);
    expect(row).toMatchObject({ status: 'processing', rail_reference: null });
    const early = await expectRailEvent({ payout_id: row.id, rail_reference: 'RAILEARLY0000000', event: 'settled' }, rail.callbackSecret, 409, 'rail_reference_not_recorded');
    expect(early.errors[0].path).toBe('#/rail_reference');
    expect(await railSignals(row.workflow_id)).toBe(0);

    const done = await finalOf(admin, await posting);
    expect(done).toMatchObject({ id: row.id, status: 'completed', response_code: '1', rail_reference: expect.stringMatching(/^RAIL[0-9A-F]{12}$/) });
    expect(done.rail_reference).not.toBe('RAILEARLY0000000');
    expect(await railPayment(row.id)).toMatchObject({ status: 'settled', rail_reference: done.rail_reference });
    // The rail's signed callback (its reference, now recorded) is the one signal the workflow heard.
    const deadline = Date.now() + 10_000;
    while ((await railSignals(row.workflow_id)) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await railSignals(row.workflow_id)).toBe(1);
    expect(await count(app.db('ledger_transactions').where({ transfer_id: row.id, kind: 'payout_settlement' }))).toBe(1);
    await expectBalances(holder.accountId, settledBalance('30.00'));
    await expectLedgerInvariants(app.db);
  });
});
