/**
 * End to end over HTTP: compliance screening, held transfers and their decisions, on the real
 * Postgres and the real Temporal dev server, with the API and a worker in this process.
 *
 * compliance_rules and watchlist_entries are global and other test files run against the same
 * database at the same time: this file never touches the default rules, scopes every rule of its
 * own to BHD transfers (a currency no other file transfers from), gives every watch-list name a
 * random word of its own, and holds transfers only through the default 10000 USD threshold.
 */
import { randomInt, randomUUID } from 'node:crypto';
import Decimal from 'decimal.js';
import type { Client } from '@temporalio/client';
import type { Application } from '../../stack/application';
import { createAuthService } from '../../src/auth/service';
import { nameSimilarity, normalizeName } from '../../src/compliance/names';
import { complianceDecisionSignal, transferStatusQuery } from '../../workflows/contract';
import {
  connectTemporal,
  createKey,
  expectLedgerInvariants,
  httpClient,
  startTestApplication,
  uniqueTaskQueue,
  type HttpClient,
  type HttpResponse,
} from '../support/harness';
import { balancesOf, count, expectErrorEnvelope, ISO_RE, postTransfer, UUID_RE } from './helpers';

type App = Application & { url: string };

let app: App;
let admin: HttpClient;
let adminKeyId: string;
/** Two compliance officers (two keys), so a second checker exists for maker-checker. */
let officer: HttpClient;
let officerKeyId: string;
let officer2: HttpClient;
let officer2KeyId: string;
let temporal: { client: Client; close: () => Promise<void> };
/** Rules this file created: disabled at the end whatever happens. */
const ownRules: Array<{ id: string; kind: string; name: string; params: Record<string, unknown> }> = [];

const UA = 'compliance-e2e/1.0';
/** A random lower-case word, so names of this file match nothing another file creates. */
const word = () =>
  randomUUID()
    .replace(/-/g, '')
    .slice(0, 8)
    .replace(/\d/g, (d) => 'ghijklmnop'[Number(d)] as string);
const RUN = word();

beforeAll(async () => {
  app = await startTestApplication();
  const adminKey = await createAuthService({ db: app.db }).createKey({ role: 'admin', label: 'compliance e2e' });
  admin = httpClient(app.url, adminKey.key);
  adminKeyId = adminKey.id;
  // Officers' keys come from another admin: keys minted by the admin who makes the payments may not
  // decide on them (maker-checker).
  const keyAdmin = httpClient(app.url, await createKey(app.db, 'admin'));
  const k1 = await keyAdmin.post('/v1/api-keys', { role: 'compliance', label: 'officer one' });
  const k2 = await keyAdmin.post('/v1/api-keys', { role: 'compliance', label: 'officer two' });
  expect([k1.status, k2.status]).toEqual([201, 201]);
  officer = httpClient(app.url, k1.body.key);
  officerKeyId = k1.body.id;
  officer2 = httpClient(app.url, k2.body.key);
  officer2KeyId = k2.body.id;
  temporal = await connectTemporal();
});

afterAll(async () => {
  for (const rule of ownRules) {
    await admin.request('PUT', `/v1/compliance/rules/${rule.id}`, { body: { kind: rule.kind, name: rule.name, params: rule.params, enabled: false } }).catch(() => undefined);
  }
  await temporal?.close();
  await app?.stop();
});

// ---------------------------------------------------------------------------------------------
// helpers

const money = (value: Decimal.Value, units = 2) => new Decimal(value).toFixed(units);

/** A customer (name, country) with an account in `currency`, optionally funded; through the API. */
async function party(client: HttpClient, opts: { name?: string; country?: string; currency?: string; deposit?: string } = {}) {
  const name = opts.name ?? `Compliance Party ${word()}`;
  const customer = await client.post('/v1/customers', { name, country: opts.country ?? 'GB' });
  expect(customer.status).toBe(201);
  const account = await client.post('/v1/accounts', { customer_id: customer.body.id, currency: opts.currency ?? 'USD' });
  expect(account.status).toBe(201);
  if (opts.deposit) {
    const dep = await client.post(`/v1/accounts/${account.body.id}/deposits`, { amount: opts.deposit, reference: 'seed' });
    expect(dep.status).toBe(201);
  }
  return { name, customerId: customer.body.id as string, accountId: account.body.id as string };
}

type Party = Awaited<ReturnType<typeof party>>;

function send(client: HttpClient, from: Party, to: Party, amount: string, reference = 'compliance e2e'): Promise<HttpResponse> {
  return postTransfer(client, { source_account_id: from.accountId, destination_account_id: to.accountId, source_amount: amount, reference });
}

/** A transfer that the default 10000 USD threshold holds: 201, held, 12 quarantined. */
async function heldTransfer(client: HttpClient, from: Party, to: Party, amount = '12000.00') {
  const res = await send(client, from, to, amount, 'large one');
  expect({ status: res.status, transfer: res.body?.status, code: res.body?.response_code }).toEqual({ status: 201, transfer: 'held', code: '12' });
  return res.body;
}

/** POST /v1/transfers/:id/release|reject; `reason: null` sends no reason. */
const decide = (client: HttpClient, transferId: string, decision: 'release' | 'reject', reason: string | null = 'documents checked') =>
  client.post(`/v1/transfers/${transferId}/${decision}`, reason === null ? {} : { reason }, { headers: { 'user-agent': UA } });

/** Polls until the transfer is completed, declined or failed (held and processing are not final). */
async function awaitFinal(client: HttpClient, transferId: string, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/v1/transfers/${transferId}`);
    expect(res.status).toBe(200);
    if (!['processing', 'held'].includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`transfer ${transferId} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function holds(status: 'pending' | 'released' | 'rejected' | 'expired', client: HttpClient = officer): Promise<any[]> {
  const res = await client.get(`/v1/compliance/holds?status=${status}&limit=200`);
  expect(res.status).toBe(200);
  return res.body.data;
}

async function auditOf(transferId: string): Promise<any[]> {
  const res = await officer.get(`/v1/compliance/audit?subject_id=${transferId}`);
  expect(res.status).toBe(200);
  return res.body.data;
}

const screeningOf = (transferId: string) => app.db('compliance_screenings').where({ subject_type: 'transfer', subject_id: transferId }).first();
const decisionOf = (transferId: string) => app.db('compliance_decisions').where({ subject_type: 'transfer', subject_id: transferId }).first();
const ledgerTransactionsOf = (transferId: string) => count(app.db('ledger_transactions').where({ transfer_id: transferId }));
const holdsOf = (transferId: string) => app.db('holds').where({ transfer_id: transferId }).select('status', 'amount');

async function expectBalances(accountId: string, expected: { posted: Decimal.Value; pending: Decimal.Value; available: Decimal.Value }, units = 2) {
  expect(await balancesOf(admin, accountId)).toEqual({ posted: money(expected.posted, units), pending: money(expected.pending, units), available: money(expected.available, units) });
}

/** The migration's default rules, by name (this file never changes them). */
async function defaultRules(): Promise<Record<string, { id: string; version: number; enabled: boolean }>> {
  const res = await officer.get('/v1/compliance/rules');
  expect(res.status).toBe(200);
  const names = ['Large amount review', 'Sanctions and PEP names', 'Comprehensively sanctioned countries', 'Source account velocity', 'Frozen accounts and suspended holders'];
  const byName = Object.fromEntries(names.map((n) => [n, res.body.data.find((r: any) => r.name === n && r.params.source_currencies === undefined)]));
  for (const n of names) expect(byName[n]).toBeDefined();
  return byName;
}

async function createOwnRule(kind: string, name: string, params: Record<string, unknown>) {
  const res = await admin.post('/v1/compliance/rules', { kind, name, params });
  expect(res.status).toBe(201);
  ownRules.push({ id: res.body.id, kind, name, params });
  return res.body;
}

async function disableOwnRule(rule: { id: string; kind: string; name: string; params: Record<string, unknown> }) {
  const res = await admin.request('PUT', `/v1/compliance/rules/${rule.id}`, { body: { kind: rule.kind, name: rule.name, params: rule.params, enabled: false } });
  expect(res.status).toBe(200);
  return res.body;
}

// ---------------------------------------------------------------------------------------------

describe('screening and the hold queue', () => {
  test('approve: an ordinary transfer completes, is screened (no hits, every default rule’s version) and never queued', async () => {
    const a = await party(admin, { deposit: '100.00' });
    const b = await party(admin);
    const rules = await defaultRules();
    const res = await send(admin, a, b, '25.00');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'completed', response_code: '1', message: 'success', source_amount: { amount: '25.00', currency: 'USD' } });
    const t = res.body;

    expect((await holds('pending')).map((h) => h.id)).not.toContain(t.id);
    const screening = await screeningOf(t.id);
    expect(screening).toMatchObject({ id: expect.stringMatching(UUID_RE), outcome: 'approve', hits: [] });
    for (const rule of Object.values(rules)) expect(screening.rule_versions[rule.id]).toBe(rule.version);
    expect((await app.db('transfers').where({ id: t.id }).first()).screening_id).toBe(screening.id);
    expect(await decisionOf(t.id)).toBeUndefined();
    expect(await auditOf(t.id)).toEqual([]);

    await expectBalances(a.accountId, { posted: '75.00', pending: '0', available: '75.00' });
    await expectBalances(b.accountId, { posted: '25.00', pending: '0', available: '25.00' });
    await expectLedgerInvariants(app.db);
  });

  test("a held transfer's workflow input shows its amount as the API does (12000.00), not with the database's scale", async () => {
    const t = await heldTransfer(admin, await party(admin, { deposit: '12000.00' }), await party(admin), '12000.00');
    const history = await temporal.client.workflow.getHandle(t.workflow_id).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = JSON.parse(Buffer.from(payload?.data ?? new Uint8Array()).toString('utf8'));
    expect(input).toMatchObject({ transferId: t.id, sourceAmount: '12000.00', sourceCurrency: 'USD', targetAmount: null, targetCurrency: 'USD' });
  });

  test('hold → release: 12000.00 USD is held (12) with its funds reserved, queued with parties and hits, released once by an officer, audited', async () => {
    const deposit = '20000.00';
    const amount = '12000.00';
    const a = await party(admin, { deposit });
    const b = await party(admin);
    const rules = await defaultRules();
    const threshold = rules['Large amount review']!;

    const t = await heldTransfer(admin, a, b, amount);
    expect(t).toMatchObject({ id: expect.stringMatching(UUID_RE), status: 'held', response_code: '12', completed_at: null, source_entry: null, destination_entry: null });
    expect(t.message).toMatch(/^quarantined: .*10000 USD threshold/);
    await expectBalances(a.accountId, { posted: deposit, pending: amount, available: new Decimal(deposit).minus(amount) });
    await expectBalances(b.accountId, { posted: 0, pending: 0, available: 0 });
    expect(await ledgerTransactionsOf(t.id)).toBe(0);

    // The screening behind it, stored once with its hits and the rule versions it applied.
    const screening = await screeningOf(t.id);
    expect(screening.outcome).toBe('hold');
    expect(screening.hits).toEqual([
      { rule_id: threshold.id, rule_version: threshold.version, kind: 'amount_threshold', name: 'Large amount review', action: 'hold', detail: expect.stringMatching(/at or above the 10000 USD threshold/) },
    ]);
    for (const rule of Object.values(rules)) expect(screening.rule_versions[rule.id]).toBe(rule.version);

    // The queue, for compliance and for admins; age and expiry from the hold.
    const pending = (await holds('pending')).find((h) => h.id === t.id);
    expect(pending).toEqual({
      subject_type: 'transfer',
      id: t.id,
      ref_id: t.ref_id,
      status: 'held',
      response_code: '12',
      source_amount: { amount, currency: 'USD' },
      target_amount: { amount, currency: 'USD' },
      parties: { source: { account_id: a.accountId, holder: a.name }, destination: { account_id: b.accountId, holder: b.name } },
      rule_hits: screening.hits,
      rule_versions: screening.rule_versions,
      held_at: expect.stringMatching(ISO_RE),
      hold_expires_at: expect.stringMatching(ISO_RE),
      age_seconds: expect.stringMatching(/^\d+$/),
      decision: null,
    });
    expect(new Date(pending.hold_expires_at).getTime() - new Date(pending.held_at).getTime()).toBe(3600_000);
    expect(Number(pending.age_seconds)).toBeLessThan(60);
    expect((await holds('pending', admin)).map((h) => h.id)).toContain(t.id);
    expect((await holds('released')).map((h) => h.id)).not.toContain(t.id);

    const reason = 'Source of funds documented';
    const released = await decide(officer, t.id, 'release', reason);
    expect(released.status).toBe(200);
    const done = released.body.status === 'completed' ? released.body : await awaitFinal(officer, t.id);
    expect(done).toMatchObject({ id: t.id, status: 'completed', response_code: '1', message: 'success' });
    expect(done.source_entry).toMatchObject({ type: 'debit', amount, balance: money(new Decimal(deposit).minus(amount)) });

    await expectBalances(a.accountId, { posted: new Decimal(deposit).minus(amount), pending: 0, available: new Decimal(deposit).minus(amount) });
    await expectBalances(b.accountId, { posted: amount, pending: 0, available: amount });
    expect(await ledgerTransactionsOf(t.id)).toBe(1);
    expect(await holdsOf(t.id)).toEqual([{ status: 'posted', amount: expect.any(String) }]);

    expect(await decisionOf(t.id)).toMatchObject({ decision: 'release', reviewer: `key:${officerKeyId}`, reviewer_key_id: officerKeyId, reason });
    // One audit entry: the API's (the workflow's activity finds the decision already recorded).
    expect(await auditOf(t.id)).toEqual([
      {
        id: expect.stringMatching(/^\d+$/),
        actor: `key:${officerKeyId}`,
        actor_key_id: officerKeyId,
        actor_role: 'compliance',
        action: 'release',
        subject_type: 'transfer',
        subject_id: t.id,
        reason,
        outcome: 'accepted',
        request_id: released.headers.get('x-request-id'),
        remote_addr: expect.any(String),
        user_agent: UA,
        at: expect.stringMatching(ISO_RE),
      },
    ]);

    const listed = (await holds('released')).find((h) => h.id === t.id);
    expect(listed).toMatchObject({ status: 'completed', response_code: '1', decision: { decision: 'release', reviewer: `key:${officerKeyId}`, reason, decided_at: expect.stringMatching(ISO_RE) } });
    expect((await holds('pending')).map((h) => h.id)).not.toContain(t.id);
    await expectLedgerInvariants(app.db);
  });

  test('hold → reject: declined 651 with the reviewer and reason, the reservation voided, nothing posted, audited', async () => {
    const a = await party(admin, { deposit: '15000.00' });
    const b = await party(admin);
    const t = await heldTransfer(admin, a, b, '10000.00'); // the threshold itself holds
    await expectBalances(a.accountId, { posted: '15000.00', pending: '10000.00', available: '5000.00' });

    const reason = 'Unexplained source of funds';
    const rejected = await decide(officer, t.id, 'reject', reason);
    expect(rejected.status).toBe(200);
    const done = rejected.body.status === 'declined' ? rejected.body : await awaitFinal(officer, t.id);
    expect(done).toMatchObject({ status: 'declined', response_code: '651', source_entry: null, destination_entry: null, completed_at: expect.stringMatching(ISO_RE) });
    expect(done.message).toBe(`compliance_firewall: rejected by key:${officerKeyId}: ${reason}`);

    await expectBalances(a.accountId, { posted: '15000.00', pending: 0, available: '15000.00' });
    await expectBalances(b.accountId, { posted: 0, pending: 0, available: 0 });
    expect(await ledgerTransactionsOf(t.id)).toBe(0);
    expect(await holdsOf(t.id)).toEqual([{ status: 'voided', amount: expect.any(String) }]);
    expect(await decisionOf(t.id)).toMatchObject({ decision: 'reject', reviewer: `key:${officerKeyId}`, reason });
    expect(await auditOf(t.id)).toEqual([
      expect.objectContaining({ actor: `key:${officerKeyId}`, action: 'reject', reason, outcome: 'accepted', request_id: rejected.headers.get('x-request-id') }),
    ]);
    expect((await holds('rejected')).find((h) => h.id === t.id)).toMatchObject({ status: 'declined', response_code: '651', decision: { decision: 'reject', reason } });
    expect((await holds('pending')).map((h) => h.id)).not.toContain(t.id);

    // Decided and finished: no second decision.
    expectErrorEnvelope(await decide(officer2, t.id, 'release'), 409, 'not_held');
    await expectLedgerInvariants(app.db);
  });

  test('hold → expiry: with a 2 s hold TTL the transfer is declined 651 on its own, the decision is expire by system', async () => {
    const short = await startTestApplication({ complianceHoldTtlSeconds: 2, taskQueue: uniqueTaskQueue('compliance-ttl') });
    try {
      const viaShort = httpClient(short.url, await createKey(app.db, 'admin'));
      const a = await party(viaShort, { deposit: '12500.00' });
      const b = await party(viaShort);
      const t = await heldTransfer(viaShort, a, b, '12000.00');
      const row = await app.db('transfers').where({ id: t.id }).first();
      expect(row.hold_expires_at.getTime() - row.held_at.getTime()).toBe(2000);
      await expectBalances(a.accountId, { posted: '12500.00', pending: '12000.00', available: '500.00' });

      const done = await awaitFinal(viaShort, t.id, 30_000);
      expect(done).toMatchObject({ status: 'declined', response_code: '651', source_entry: null });
      expect(done.message).toBe('compliance_firewall: hold expired: No decision within 2 seconds: the hold expired.');
      expect(await decisionOf(t.id)).toMatchObject({ decision: 'expire', reviewer: 'system', reviewer_key_id: null });
      expect((await holds('expired')).find((h) => h.id === t.id)).toMatchObject({
        status: 'declined',
        response_code: '651',
        decision: { decision: 'expire', reviewer: 'system', reason: expect.stringMatching(/expired/) },
      });
      expect(await auditOf(t.id)).toEqual([
        expect.objectContaining({ actor: 'system', actor_key_id: null, action: 'expire', outcome: 'applied', remote_addr: 'workflow timer' }),
      ]);
      await expectBalances(a.accountId, { posted: '12500.00', pending: 0, available: '12500.00' });
      expect(await ledgerTransactionsOf(t.id)).toBe(0);
      // Too late for an officer.
      expectErrorEnvelope(await decide(officer, t.id, 'release'), 409, 'not_held');
      await expectLedgerInvariants(app.db);
    } finally {
      await short.stop();
    }
  });
});

describe('deciding: once, by a compliance officer who did not make it', () => {
  test('release sent twice: 200 then 409 not_held; two concurrent releases: one 200, one 409; the money moves once', async () => {
    const a = await party(admin, { deposit: '30000.00' });
    const b = await party(admin);

    const t1 = await heldTransfer(admin, a, b);
    const first = await decide(officer, t1.id, 'release');
    expect(first.status).toBe(200);
    expect((first.body.status === 'completed' ? first.body : await awaitFinal(officer, t1.id)).status).toBe('completed');
    expectErrorEnvelope(await decide(officer, t1.id, 'release'), 409, 'not_held');
    expectErrorEnvelope(await decide(officer2, t1.id, 'reject'), 409, 'not_held');
    expect(await ledgerTransactionsOf(t1.id)).toBe(1);
    expect((await auditOf(t1.id)).map((e) => `${e.action} ${e.outcome}`).sort()).toEqual(['reject refused: not_held', 'release accepted', 'release refused: not_held']);

    const t2 = await heldTransfer(admin, a, b);
    const both = await Promise.all([decide(officer, t2.id, 'release', 'first officer'), decide(officer2, t2.id, 'release', 'second officer')]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const loser = both.find((r) => r.status === 409)!;
    const winner = both.find((r) => r.status === 200)!;
    expectErrorEnvelope(loser, 409, loser.body.errors[0].error_code);
    expect(['already_decided', 'not_held']).toContain(loser.body.errors[0].error_code);
    expect((winner.body.status === 'completed' ? winner.body : await awaitFinal(officer, t2.id)).status).toBe('completed');
    const winnerKey = winner === both[0] ? officerKeyId : officer2KeyId;
    expect(await decisionOf(t2.id)).toMatchObject({ decision: 'release', reviewer: `key:${winnerKey}` });
    expect(await count(app.db('compliance_decisions').where({ subject_id: t2.id }))).toBe(1);
    expect(await ledgerTransactionsOf(t2.id)).toBe(1);
    const audit = await auditOf(t2.id);
    expect(audit.map((e) => e.outcome).sort()).toEqual(['accepted', `refused: ${loser.body.errors[0].error_code}`]);
    expect(audit.find((e) => e.outcome === 'accepted').actor).toBe(`key:${winnerKey}`);

    // 30000 − 2 × 12000, posted once each.
    await expectBalances(a.accountId, { posted: '6000.00', pending: 0, available: '6000.00' });
    await expectBalances(b.accountId, { posted: '24000.00', pending: 0, available: '24000.00' });
    await expectLedgerInvariants(app.db);
  });

  test('client and admin keys get 403, a transfer that is not held 409 not_held, no reason 422, an unknown transfer 404', async () => {
    const a = await party(admin, { deposit: '13000.00' });
    const b = await party(admin);
    const t = await heldTransfer(admin, a, b);
    const client = httpClient(app.url, await createKey(app.db, 'client', a.customerId));

    for (const who of [client, admin]) {
      for (const decision of ['release', 'reject'] as const) expectErrorEnvelope(await decide(who, t.id, decision), 403, 'not_authorized');
    }
    expectErrorEnvelope(await client.get('/v1/compliance/holds'), 403, 'not_authorized');
    expectErrorEnvelope(await client.get(`/v1/compliance/audit?subject_id=${t.id}`), 403, 'not_authorized');
    expectErrorEnvelope(await officer.post('/v1/compliance/rules', { kind: 'velocity', name: 'x', params: {} }), 403, 'not_authorized');
    expectErrorEnvelope(await officer.post('/v1/compliance/watchlist', { name: `Nobody ${word()}` }), 403, 'not_authorized');
    // Compliance keys decide; they do not move money.
    expectErrorEnvelope(await send(officer, a, b, '1.00'), 403, 'not_authorized');

    expectErrorEnvelope(await decide(officer, t.id, 'release', null), 422, 'missing_field', '#/reason');
    expectErrorEnvelope(await decide(officer, t.id, 'reject', '   '), 422, 'invalid_value', '#/reason');
    expectErrorEnvelope(await officer.post(`/v1/transfers/${t.id}/release`, { reason: 'ok', extra: 1 }), 422, 'unknown_field', '#/extra');
    expectErrorEnvelope(await decide(officer, randomUUID(), 'release'), 404, 'not_found');

    // An ordinary completed transfer is not held.
    const small = await send(admin, a, b, '10.00');
    expect(small.body.status).toBe('completed');
    expectErrorEnvelope(await decide(officer, small.body.id, 'release'), 409, 'not_held');
    expect(await auditOf(small.body.id)).toEqual([expect.objectContaining({ action: 'release', outcome: 'refused: not_held', actor_key_id: officerKeyId })]);

    // Nothing above decided the held transfer: still pending, still reserved. The four 403s of client
    // and admin keys are in the audit trail (every attempt is); a 422 for a missing reason is not an attempt.
    expect((await holds('pending')).map((h) => h.id)).toContain(t.id);
    expect(await decisionOf(t.id)).toBeUndefined();
    expect((await auditOf(t.id)).map((e) => `${e.actor_role} ${e.action} ${e.outcome}`)).toEqual([
      'admin reject refused: not_authorized',
      'admin release refused: not_authorized',
      'client reject refused: not_authorized',
      'client release refused: not_authorized',
    ]);
    await expectBalances(a.accountId, { posted: '12990.00', pending: '12000.00', available: '990.00' });

    const rejected = await decide(officer, t.id, 'reject', 'clean up');
    expect(rejected.status).toBe(200);
    expect((rejected.body.status === 'declined' ? rejected.body : await awaitFinal(officer, t.id)).response_code).toBe('651');
    await expectBalances(a.accountId, { posted: '12990.00', pending: 0, available: '12990.00' });
    await expectLedgerInvariants(app.db);
  });

  test('maker-checker: the key that created the transfer gets 403 maker_checker_violation (audited); another officer may release', async () => {
    const a = await party(admin, { deposit: '12000.00' });
    const b = await party(admin);
    const t = await heldTransfer(admin, a, b);
    expect((await app.db('transfers').where({ id: t.id }).first()).created_by_key_id).toBe(adminKeyId);
    // Compliance keys cannot create transfers (403 above); make this one the officer's own.
    await app.db('transfers').where({ id: t.id }).update({ created_by_key_id: officerKeyId });

    for (const decision of ['release', 'reject'] as const) {
      expectErrorEnvelope(await decide(officer, t.id, decision, 'my own'), 403, 'maker_checker_violation');
    }
    expect(await decisionOf(t.id)).toBeUndefined();
    expect((await auditOf(t.id)).map((e) => ({ actor_key_id: e.actor_key_id, action: e.action, outcome: e.outcome, reason: e.reason }))).toEqual([
      { actor_key_id: officerKeyId, action: 'reject', outcome: 'refused: maker_checker', reason: 'my own' },
      { actor_key_id: officerKeyId, action: 'release', outcome: 'refused: maker_checker', reason: 'my own' },
    ]);
    await expectBalances(a.accountId, { posted: '12000.00', pending: '12000.00', available: '0.00' });

    const released = await decide(officer2, t.id, 'release', 'four eyes');
    expect(released.status).toBe(200);
    expect((released.body.status === 'completed' ? released.body : await awaitFinal(officer, t.id)).status).toBe('completed');
    expect(await decisionOf(t.id)).toMatchObject({ reviewer: `key:${officer2KeyId}`, reason: 'four eyes' });
    await expectBalances(a.accountId, { posted: 0, pending: 0, available: 0 });
    await expectBalances(b.accountId, { posted: '12000.00', pending: 0, available: '12000.00' });
    await expectLedgerInvariants(app.db);
  });

  test('maker-checker: a compliance key minted by the admin who made the transfer gets 403 too', async () => {
    const a = await party(admin, { deposit: '12000.00' });
    const b = await party(admin);
    const t = await heldTransfer(admin, a, b);
    // The same admin that created the transfer mints itself a compliance key...
    const minted = await admin.post('/v1/api-keys', { role: 'compliance', label: 'self-approval' });
    expect(minted.status).toBe(201);
    const selfApprover = httpClient(app.url, minted.body.key);
    // ...which may not decide on it.
    expectErrorEnvelope(await decide(selfApprover, t.id, 'release', 'approving my own'), 403, 'maker_checker_violation');
    expect(await decisionOf(t.id)).toBeUndefined();
    expect((await auditOf(t.id)).map((e) => ({ actor_key_id: e.actor_key_id, outcome: e.outcome }))).toEqual([
      { actor_key_id: minted.body.id, outcome: 'refused: maker_checker' },
    ]);
    await expectBalances(a.accountId, { posted: '12000.00', pending: '12000.00', available: '0.00' });
    // An independent officer decides.
    const rejected = await decide(officer2, t.id, 'reject', 'self-approval attempt');
    expect(rejected.status).toBe(200);
    await expectBalances(a.accountId, { posted: '12000.00', pending: 0, available: '12000.00' });
    await expectLedgerInvariants(app.db);
  });
});

describe('maker-checker across the whole minting chain', () => {
  /** An admin key minted over the API by `by`, with the client for it. */
  async function mint(by: HttpClient, body: { role: 'admin' | 'compliance'; issued_to?: string }) {
    const res = await by.post('/v1/api-keys', { label: `chain ${word()}`, ...body });
    expect(res.status).toBe(201);
    return { client: httpClient(app.url, res.body.key), id: res.body.id as string };
  }
  const rootAdmin = async () => httpClient(app.url, await createKey(app.db, 'admin'));

  test('the reported bypass: K0 makes it, K0 mints admin K2, K2 mints compliance C2: C2 is refused (and at any depth)', async () => {
    const k0 = await rootAdmin();
    const t = await heldTransfer(k0, await party(k0, { deposit: '12000.00' }), await party(k0));
    const k2 = await mint(k0, { role: 'admin' });
    const c2 = await mint(k2.client, { role: 'compliance' });
    const k3 = await mint(k2.client, { role: 'admin' });
    const c3 = await mint(k3.client, { role: 'compliance' });
    // Seventy admins deep (minted straight in the table, as the API would, one by one).
    const auth = createAuthService({ db: app.db });
    let above = k3.id;
    for (let depth = 0; depth < 70; depth++) above = (await auth.createKey({ role: 'admin', createdByKeyId: above })).id;
    const deep = await auth.createKey({ role: 'compliance', createdByKeyId: above });
    const c70 = { client: httpClient(app.url, deep.key), id: deep.id };
    for (const checker of [c2, c3, c70]) {
      const res = await decide(checker.client, t.id, 'release', 'approving my own');
      expectErrorEnvelope(res, 403, 'maker_checker_violation');
      expect(res.body.errors[0].message).toMatch(/minted, through its chain, by the key that made it/);
    }
    expect(await decisionOf(t.id)).toBeUndefined();
    expect((await auditOf(t.id)).map((e) => ({ actor_key_id: e.actor_key_id, outcome: e.outcome }))).toEqual([
      { actor_key_id: c70.id, outcome: 'refused: maker_checker' },
      { actor_key_id: c3.id, outcome: 'refused: maker_checker' },
      { actor_key_id: c2.id, outcome: 'refused: maker_checker' },
    ]);
    expect(await ledgerTransactionsOf(t.id)).toBe(0);
    // An officer outside the chain decides.
    expect((await decide(officer2, t.id, 'reject', 'self-approval attempt')).status).toBe(200);
  });

  test('one admin key minting both the maker’s key and the checker’s is refused; so is one person holding both', async () => {
    // A (minted by a root key) mints an admin M, who makes the payment, and a compliance key C.
    const a = await mint(await rootAdmin(), { role: 'admin' });
    const m = await mint(a.client, { role: 'admin' });
    const c = await mint(a.client, { role: 'compliance' });
    const t = await heldTransfer(m.client, await party(m.client, { deposit: '12000.00' }), await party(m.client));
    const sibling = await decide(c.client, t.id, 'release');
    expectErrorEnvelope(sibling, 403, 'maker_checker_violation');
    expect(sibling.body.errors[0].message).toMatch(/minted both/);

    // Unrelated chains, but the keys are issued to the same person (compared case-insensitively).
    const maker = await mint(await rootAdmin(), { role: 'admin', issued_to: `dana.${RUN}@bank.example` });
    const checker = await mint(await rootAdmin(), { role: 'compliance', issued_to: ` Dana.${RUN}@Bank.example ` });
    const t2 = await heldTransfer(maker.client, await party(maker.client, { deposit: '12000.00' }), await party(maker.client));
    const samePerson = await decide(checker.client, t2.id, 'release');
    expectErrorEnvelope(samePerson, 403, 'maker_checker_violation');
    expect(samePerson.body.errors[0].message).toMatch(/same person/);

    // A different person from an unrelated chain may decide.
    const other = await mint(await rootAdmin(), { role: 'compliance', issued_to: `erin.${RUN}@bank.example` });
    const released = await decide(other.client, t2.id, 'release', 'documents checked by Erin');
    expect(released.status).toBe(200);
    expect(released.body.status).toBe('completed');
    for (const id of [t.id]) expect((await decide(officer2, id, 'reject', 'cleanup')).status).toBe(200);
    await expectLedgerInvariants(app.db);
  });

  test('a client or admin key trying to decide gets 403 and the attempt is in the audit trail', async () => {
    const alice = await party(admin, { deposit: '12000.00' });
    const t = await heldTransfer(admin, alice, await party(admin));
    const clientKey = httpClient(app.url, await createKey(app.db, 'client', alice.customerId));
    expectErrorEnvelope(await decide(clientKey, t.id, 'release', 'let my money go'), 403, 'not_authorized');
    expectErrorEnvelope(await decide(admin, t.id, 'reject', 'admin override'), 403, 'not_authorized');
    expect((await auditOf(t.id)).map((e) => ({ role: e.actor_role, action: e.action, outcome: e.outcome, reason: e.reason }))).toEqual([
      { role: 'admin', action: 'reject', outcome: 'refused: not_authorized', reason: 'admin override' },
      { role: 'client', action: 'release', outcome: 'refused: not_authorized', reason: 'let my money go' },
    ]);
    expect(await decisionOf(t.id)).toBeUndefined();
    expect((await decide(officer2, t.id, 'reject', 'cleanup')).status).toBe(200);
  });
});

describe('decisions as Temporal signals', () => {
  test('a release signalled straight to the workflow (as from the CLI/UI), right after the POST answered held: completed, recorded, audited', async () => {
    const a = await party(admin, { deposit: '12345.67' });
    const b = await party(admin);
    const res = await send(admin, a, b, '12000.00');
    // Same tick as the answer: no await between the 201 and the signal.
    const signalled = temporal.client.workflow.getHandle(res.body.workflow_id).signal(complianceDecisionSignal, { decision: 'release', reviewer: 'ops@bank', reason: 'signal' });
    expect({ status: res.status, transfer: res.body.status, code: res.body.response_code }).toEqual({ status: 201, transfer: 'held', code: '12' });
    await signalled;

    const done = await awaitFinal(admin, res.body.id);
    expect(done).toMatchObject({ status: 'completed', response_code: '1' });
    expect(await decisionOf(res.body.id)).toMatchObject({ decision: 'release', reviewer: 'ops@bank', reviewer_key_id: null, reason: 'signal' });
    expect(await auditOf(res.body.id)).toEqual([
      expect.objectContaining({ actor: 'ops@bank', actor_key_id: null, action: 'release', reason: 'signal', outcome: 'applied', remote_addr: 'temporal signal', request_id: null }),
    ]);
    expect((await holds('released')).find((h) => h.id === res.body.id)).toMatchObject({ decision: { decision: 'release', reviewer: 'ops@bank' } });
    expectErrorEnvelope(await decide(officer, res.body.id, 'reject'), 409, 'not_held');
    expect(await ledgerTransactionsOf(res.body.id)).toBe(1);
    await expectBalances(a.accountId, { posted: '345.67', pending: 0, available: '345.67' });
    await expectLedgerInvariants(app.db);
  });

  test('malformed decision signals (unknown decision, no reviewer, blank reason) are ignored: the hold stays decidable', async () => {
    const a = await party(admin, { deposit: '12000.00' });
    const b = await party(admin);
    const t = await heldTransfer(admin, a, b);
    const handle = temporal.client.workflow.getHandle(t.workflow_id);
    const malformed = [
      { decision: 'approve', reviewer: 'ops@bank', reason: 'typo in the decision' },
      { decision: 'release', reason: 'no reviewer' },
      { decision: 'reject', reviewer: 'ops@bank', reason: '  ' },
      { decision: 'release', reviewer: 'ops@bank', reason: 'bad key id', reviewerKeyId: 'not-a-key' },
    ];
    for (const signal of malformed) await handle.signal(complianceDecisionSignal, signal as any);
    // The query runs after the signals: the workflow still waits, nothing recorded.
    expect(await handle.query(transferStatusQuery)).toMatchObject({ status: 'held', step: 'awaiting_decision', outcome: null });
    expect((await admin.get(`/v1/transfers/${t.id}`)).body).toMatchObject({ status: 'held', response_code: '12' });
    expect(await decisionOf(t.id)).toBeUndefined();
    expect(await auditOf(t.id)).toEqual([]);

    const released = await decide(officer, t.id, 'release', 'after the typos');
    expect(released.status).toBe(200);
    expect((released.body.status === 'completed' ? released.body : await awaitFinal(officer, t.id)).status).toBe('completed');
    expect(await decisionOf(t.id)).toMatchObject({ decision: 'release', reviewer: `key:${officerKeyId}` });
    await expectBalances(a.accountId, { posted: 0, pending: 0, available: 0 });
    await expectBalances(b.accountId, { posted: '12000.00', pending: 0, available: '12000.00' });
    await expectLedgerInvariants(app.db);
  });

  test('a decision signalled while the workflow is still screening is kept and applied once the transfer is held', async () => {
    const eager = await startTestApplication({ transferSyncWaitMs: 0 });
    try {
      const viaEager = httpClient(eager.url, await createKey(app.db, 'admin'));
      const a = await party(viaEager, { deposit: '12100.00' });
      const b = await party(viaEager);
      const res = await send(viaEager, a, b, '12000.00');
      expect({ status: res.status, transfer: res.body.status }).toEqual({ status: 202, transfer: 'processing' });
      await temporal.client.workflow.getHandle(res.body.workflow_id).signal(complianceDecisionSignal, { decision: 'release', reviewer: 'early@bank', reason: 'pre-cleared' });
      // A later, different decision does not replace the first.
      await temporal.client.workflow.getHandle(res.body.workflow_id).signal(complianceDecisionSignal, { decision: 'reject', reviewer: 'late@bank', reason: 'too late' });

      const done = await awaitFinal(viaEager, res.body.id);
      expect(done).toMatchObject({ status: 'completed', response_code: '1' });
      const row = await app.db('transfers').where({ id: res.body.id }).first();
      expect(row.held_at).not.toBeNull(); // it did go through the hold
      expect((await screeningOf(res.body.id)).outcome).toBe('hold');
      expect(await decisionOf(res.body.id)).toMatchObject({ decision: 'release', reviewer: 'early@bank', reason: 'pre-cleared' });
      expect(await auditOf(res.body.id)).toEqual([expect.objectContaining({ actor: 'early@bank', action: 'release', outcome: 'applied', remote_addr: 'temporal signal' })]);
      await expectBalances(a.accountId, { posted: '100.00', pending: 0, available: '100.00' });
      await expectBalances(b.accountId, { posted: '12000.00', pending: 0, available: '12000.00' });

      // A decision signalled to a transfer that screening approves changes nothing.
      const small = await send(viaEager, a, b, '40.00');
      expect(small.status).toBe(202);
      await temporal.client.workflow.getHandle(small.body.workflow_id).signal(complianceDecisionSignal, { decision: 'reject', reviewer: 'stray@bank', reason: 'stray' });
      expect(await awaitFinal(viaEager, small.body.id)).toMatchObject({ status: 'completed', response_code: '1' });
      expect(await decisionOf(small.body.id)).toBeUndefined();
      expect(await auditOf(small.body.id)).toEqual([]);
      await expectBalances(a.accountId, { posted: '60.00', pending: 0, available: '60.00' });
      await expectLedgerInvariants(app.db);
    } finally {
      await eager.stop();
    }
  });

  test('the worker restarts while a transfer is held: a new process on the same task queue releases it', async () => {
    const queue = uniqueTaskQueue('compliance-restart');
    const first = await startTestApplication({ taskQueue: queue });
    let firstRunning = true;
    let second: App | undefined;
    try {
      const viaFirst = httpClient(first.url, await createKey(app.db, 'admin'));
      const a = await party(viaFirst, { deposit: '12000.50' });
      const b = await party(viaFirst);
      const t = await heldTransfer(viaFirst, a, b);
      await first.stop();
      firstRunning = false;

      second = await startTestApplication({ taskQueue: queue });
      const officerViaSecond = httpClient(second.url, (await httpClient(app.url, await createKey(app.db, 'admin')).post('/v1/api-keys', { role: 'compliance' })).body.key);
      const released = await decide(officerViaSecond, t.id, 'release', 'after restart');
      expect(released.status).toBe(200);
      const done = released.body.status === 'completed' ? released.body : await awaitFinal(officerViaSecond, t.id);
      expect(done).toMatchObject({ status: 'completed', response_code: '1' });
      expect(await ledgerTransactionsOf(t.id)).toBe(1);
      await expectBalances(a.accountId, { posted: '0.50', pending: 0, available: '0.50' });
      await expectBalances(b.accountId, { posted: '12000.00', pending: 0, available: '12000.00' });
      await expectLedgerInvariants(app.db);
    } finally {
      if (firstRunning) await first.stop();
      await second?.stop();
    }
  });
});

describe('rules', () => {
  test('sanctions: an exact name (any case, accents, order) declines 651; a weak variant is held; an OFAC SDN CSV import matches', async () => {
    const tag = word();
    const entry = await admin.post('/v1/compliance/watchlist', { name: `Zorbulak Qendrimov ${tag}`, program: 'TEST' });
    expect(entry.status).toBe(201);
    expect(entry.body).toMatchObject({ id: expect.stringMatching(UUID_RE), list: 'MANUAL', name: `Zorbulak Qendrimov ${tag}`, normalized_name: normalizeName(`Zorbulak Qendrimov ${tag}`) });
    expect((await officer.get('/v1/compliance/watchlist')).body.data.map((e: any) => e.id)).toContain(entry.body.id);

    const a = await party(admin, { deposit: '500.00' });
    // Strong: the same name, shouted, accented and reordered.
    const strongName = `${tag.toUpperCase()}, QËNDRÍMOV Zörbulák`;
    expect(nameSimilarity(normalizeName(strongName), entry.body.normalized_name)).toBe(1);
    const strong = await party(admin, { name: strongName });
    const declined = await send(admin, a, strong, '10.00');
    expect(declined.status).toBe(201);
    expect(declined.body).toMatchObject({ status: 'declined', response_code: '651' });
    expect(declined.body.message).toMatch(/^compliance_firewall: destination_holder ".*" matches MANUAL entry "Zorbulak Qendrimov/);
    expect((await screeningOf(declined.body.id)).hits).toEqual([
      expect.objectContaining({ kind: 'watchlist', action: 'decline', match: { entryId: entry.body.id, listName: entry.body.name, list: 'MANUAL', score: 1 } }),
    ]);
    expect(await holdsOf(declined.body.id)).toEqual([]);

    // Weak: a spelling a few letters off, scoring in [0.80, 0.92).
    const base = `Zorbulak Qendrimov ${tag}`;
    let weakName: string | undefined;
    let weakScore = 0;
    for (let edits = 1; edits <= 8 && !weakName; edits++) {
      const chars = base.split('');
      // Change letters inside the first two words (never the first letter: word order stays the same).
      const positions = [1, 3, 5, 10, 12, 14, 16, 2].slice(0, edits);
      for (const p of positions) chars[p] = chars[p] === 'y' ? 'x' : 'y';
      const candidate = chars.join('');
      const score = nameSimilarity(normalizeName(candidate), entry.body.normalized_name);
      if (score >= 0.8 && score < 0.92) [weakName, weakScore] = [candidate, score];
    }
    expect(weakName).toBeDefined();
    const weak = await party(admin, { name: weakName });
    const held = await send(admin, a, weak, '20.00');
    expect({ status: held.status, transfer: held.body.status, code: held.body.response_code }).toEqual({ status: 201, transfer: 'held', code: '12' });
    expect(held.body.message).toMatch(/resembles MANUAL entry/);
    const queued = (await holds('pending')).find((h) => h.id === held.body.id);
    expect(queued.rule_hits).toEqual([
      expect.objectContaining({ kind: 'watchlist', action: 'hold', match: expect.objectContaining({ entryId: entry.body.id, score: weakScore }) }),
    ]);
    expect(queued.parties.destination.holder).toBe(weakName);
    await expectBalances(a.accountId, { posted: '500.00', pending: '20.00', available: '480.00' });
    const cleared = await decide(officer, held.body.id, 'release', 'a different person: date of birth differs');
    expect(cleared.status).toBe(200);
    expect((cleared.body.status === 'completed' ? cleared.body : await awaitFinal(officer, held.body.id)).status).toBe('completed');

    // The OFAC SDN CSV layout: ent_num, "SURNAME, Given", type, program, then -0- columns; no header.
    const [ent1, ent2] = [randomInt(100_000_000, 999_999_999), randomInt(100_000_000, 999_999_999)];
    const sdnTag = word();
    const csv = [
      `${ent1},"VARNAKOFF, Eldrimir ${sdnTag}",individual,SDGT,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 01 Jan 1970; nationality Nowhere."`,
      `${ent2},"OSTRAVEL GLIDER ${sdnTag}",vessel,"IRAN] [SDGT",-0- ,"9999999",-0- ,-0- ,-0- ,-0- ,-0- ,-0- `,
      '\u001a',
    ].join('\r\n');
    const imported = await admin.post('/v1/compliance/watchlist/import', { list: 'SDN', csv });
    expect(imported.status).toBe(200);
    expect(imported.body).toEqual({ imported: 2, skipped: 0, skipped_rows: [] });
    // Importing again replaces by (list, ent_num): no duplicates.
    expect((await admin.post('/v1/compliance/watchlist/import', { list: 'SDN', csv })).body).toEqual({ imported: 2, skipped: 0, skipped_rows: [] });
    const rows = await app.db('watchlist_entries').where({ list: 'SDN' }).whereIn('external_id', [String(ent1), String(ent2)]).orderBy('external_id');
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.external_id === String(ent1))).toMatchObject({ name: `VARNAKOFF, Eldrimir ${sdnTag}`, entity_type: 'individual', program: 'SDGT' });
    expect(rows.find((r) => r.external_id === String(ent2))).toMatchObject({ entity_type: 'vessel', program: 'IRAN] [SDGT' });
    expectErrorEnvelope(await officer.post('/v1/compliance/watchlist/import', { csv }), 403, 'not_authorized');

    // The sanctioned person as the payer this time.
    const sanctioned = await party(admin, { name: `Eldrimir ${sdnTag} Varnakoff`, deposit: '50.00' });
    const payee = await party(admin);
    const blocked = await send(admin, sanctioned, payee, '5.00');
    expect(blocked.body).toMatchObject({ status: 'declined', response_code: '651' });
    expect(blocked.body.message).toMatch(/source_holder .* matches SDN entry "VARNAKOFF, Eldrimir/);
    expect((await screeningOf(blocked.body.id)).hits).toEqual([
      expect.objectContaining({ kind: 'watchlist', action: 'decline', match: expect.objectContaining({ list: 'SDN', listName: `VARNAKOFF, Eldrimir ${sdnTag}`, score: 1 }) }),
    ]);

    await expectBalances(a.accountId, { posted: '480.00', pending: 0, available: '480.00' });
    await expectBalances(strong.accountId, { posted: 0, pending: 0, available: 0 });
    await expectBalances(weak.accountId, { posted: '20.00', pending: 0, available: '20.00' });
    await expectBalances(sanctioned.accountId, { posted: '50.00', pending: 0, available: '50.00' });
    await expectLedgerInvariants(app.db);
  });

  test('blocked country: a destination holder in KP declines 651 before anything is reserved', async () => {
    const a = await party(admin, { deposit: '100.00' });
    const b = await party(admin, { country: 'KP' });
    const res = await send(admin, a, b, '10.00');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'declined', response_code: '651', source_entry: null });
    expect(res.body.message).toBe('compliance_firewall: destination_holder is in a blocked country (KP).');
    const row = await app.db('transfers').where({ id: res.body.id }).first();
    expect({ hold_id: row.hold_id, held_at: row.held_at }).toEqual({ hold_id: null, held_at: null });
    expect(await holdsOf(res.body.id)).toEqual([]);
    expect((await screeningOf(res.body.id)).outcome).toBe('decline');
    await expectBalances(a.accountId, { posted: '100.00', pending: 0, available: '100.00' });
    await expectBalances(b.accountId, { posted: 0, pending: 0, available: 0 });
    await expectLedgerInvariants(app.db);
  });

  test('velocity: with a BHD-only rule of 2 an hour the third BHD transfer from one account is held; USD is not in its scope', async () => {
    const rule = await createOwnRule('velocity', `BHD velocity ${RUN}`, { window_seconds: 3600, max_count: 2, currency: 'USD', source_currencies: ['BHD'] });
    expect(rule).toMatchObject({ id: expect.stringMatching(UUID_RE), kind: 'velocity', enabled: true, version: 1 });
    try {
      const a = await party(admin, { currency: 'BHD', deposit: '100.000' });
      const b = await party(admin, { currency: 'BHD' });
      const outcomes: any[] = [];
      for (const amount of ['1.000', '2.500', '3.125']) outcomes.push((await send(admin, a, b, amount)).body);
      expect(outcomes.map((t) => `${t.status} ${t.response_code}`)).toEqual(['completed 1', 'completed 1', 'held 12']);
      const third = outcomes[2];
      expect(third.message).toMatch(/3 movements from the source account in 3600 s \(limit 2\)/);
      const screening = await screeningOf(third.id);
      expect(screening.hits).toEqual([expect.objectContaining({ rule_id: rule.id, rule_version: 1, kind: 'velocity', action: 'hold' })]);
      expect(screening.rule_versions[rule.id]).toBe(1);
      await expectBalances(a.accountId, { posted: '96.500', pending: '3.125', available: '93.375' }, 3);

      // The rule applies to BHD only: three USD transfers from one account all pass.
      const u = await party(admin, { deposit: '10.00' });
      const v = await party(admin);
      for (let i = 0; i < 3; i++) {
        const t = (await send(admin, u, v, '1.00')).body;
        expect(t.status).toBe('completed');
        expect((await screeningOf(t.id)).rule_versions[rule.id]).toBeUndefined();
      }
      await expectBalances(u.accountId, { posted: '7.00', pending: 0, available: '7.00' });

      const rejected = await decide(officer, third.id, 'reject', 'velocity');
      expect(rejected.status).toBe(200);
      expect((rejected.body.status === 'declined' ? rejected.body : await awaitFinal(officer, third.id)).response_code).toBe('651');
      await expectBalances(a.accountId, { posted: '96.500', pending: 0, available: '96.500' }, 3);
      await expectBalances(b.accountId, { posted: '3.500', pending: 0, available: '3.500' }, 3);
    } finally {
      const disabled = await disableOwnRule(rule);
      expect(disabled).toMatchObject({ id: rule.id, enabled: false, version: 2 });
    }
    // Disabled: three BHD transfers from one account all pass again.
    const c = await party(admin, { currency: 'BHD', deposit: '10.000' });
    const d = await party(admin, { currency: 'BHD' });
    for (let i = 0; i < 3; i++) expect((await send(admin, c, d, '1.000')).body.status).toBe('completed');
    await expectBalances(c.accountId, { posted: '7.000', pending: 0, available: '7.000' }, 3);
    await expectLedgerInvariants(app.db);
  });
});
