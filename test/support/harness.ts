import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { startApplication, type Application, type ApplicationOptions } from '../../stack/application';
import { createAuthService, type Role } from '../../src/auth/service';
import { createDb, type Db } from '../../src/db/knex';
import { checkLedgerInvariants } from '../../src/ledger/invariants';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (global setup starts the services)`);
  return value;
}

export const testDatabaseUrl = () => required('TEST_DATABASE_URL');
export const testTemporalAddress = () => required('TEST_TEMPORAL_ADDRESS');
export const workflowBundle = () => ({ codePath: required('TEST_WORKFLOW_BUNDLE') });
export const testRail = () => ({ url: required('TEST_RAIL_URL'), callbackSecret: required('TEST_RAIL_SECRET') });
export const uniqueTaskQueue = (name: string) => `test-${name}-${randomUUID().slice(0, 8)}`;

export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function openTestDb(poolMax = 10): Db {
  return createDb(testDatabaseUrl(), poolMax);
}

export async function connectTemporal(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: testTemporalAddress() });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/** The whole service in this process, on real Postgres and the real Temporal server, with a task queue of its own. */
export async function startTestApplication(overrides: Partial<ApplicationOptions> = {}): Promise<Application & { url: string }> {
  const app = await startApplication({
    databaseUrl: testDatabaseUrl(),
    databasePoolMax: 30,
    temporalAddress: testTemporalAddress(),
    namespace: 'default',
    taskQueue: uniqueTaskQueue('app'),
    logger: testLogger,
    runApi: true,
    runWorker: true,
    port: 0,
    transferSyncWaitMs: 10_000,
    maxBodyBytes: 65_536,
    // The suites make thousands of requests with one key from one address, and some refuse bad keys
    // on purpose; test/e2e/http-hardening.test.ts starts apps with small limits to see the 429s.
    rateLimits: { windowSeconds: 60, perKey: 1_000_000, perAddress: 1_000_000, failedAuthPerAddress: 10_000 },
    fx: { fxRateMaxAgeMs: 3_600_000, fxQuoteTtlMs: 60_000 },
    complianceHoldTtlSeconds: 3600,
    // Short enough for a test to see a late return; long enough to settle first.
    payoutTiming: { settlementCheckSeconds: 2, returnWindowSeconds: 10 },
    rail: testRail(),
    workflowBundle: workflowBundle(),
    ...overrides,
  });
  if (!app.url) throw new Error('API did not start');
  return app as Application & { url: string };
}

export async function createKey(db: Db, role: Role, customerId?: string): Promise<string> {
  return (await createAuthService({ db }).createKey({ role, customerId, label: 'test' })).key;
}

/** Every test that touches the ledger ends here: the invariants hold on the whole database. */
export async function expectLedgerInvariants(db: Db): Promise<void> {
  expect(await checkLedgerInvariants(db)).toEqual([]);
}

export type HttpResponse<T = any> = { status: number; body: T; headers: Headers };

/** A small JSON client over fetch, bound to a base URL and a bearer key. */
export function httpClient(baseUrl: string, key?: string) {
  async function request<T = any>(method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; key?: string | null } = {}): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const bearer = opts.key === undefined ? key : opts.key;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  return {
    request,
    get: <T = any>(path: string, opts?: Parameters<typeof request>[2]) => request<T>('GET', path, opts),
    post: <T = any>(path: string, body?: unknown, opts?: Parameters<typeof request>[2]) => request<T>('POST', path, { ...opts, body }),
  };
}
export type HttpClient = ReturnType<typeof httpClient>;

/** Fixtures through the public API: a customer with an account in `currency`, optionally funded. */
export async function customerWithAccount(admin: HttpClient, opts: { currency?: string; deposit?: string; name?: string } = {}) {
  const customer = await admin.post('/v1/customers', { name: opts.name ?? 'Test Customer', country: 'GB' });
  expect(customer.status).toBe(201);
  const account = await admin.post('/v1/accounts', { customer_id: customer.body.id, currency: opts.currency ?? 'USD' });
  expect(account.status).toBe(201);
  if (opts.deposit) {
    const dep = await admin.post(`/v1/accounts/${account.body.id}/deposits`, { amount: opts.deposit, reference: 'seed' });
    expect(dep.status).toBe(201);
  }
  return { customerId: customer.body.id as string, accountId: account.body.id as string };
}

/** Polls until the transfer leaves `processing` (the API answers 202 when the bound passes first). */
export async function awaitTransferOutcome(client: HttpClient, transferId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/v1/transfers/${transferId}`);
    if (res.body?.status !== 'processing') return res;
    if (Date.now() > deadline) throw new Error(`transfer ${transferId} still processing after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls `probe` until it returns `expected` (compared with toEqual), failing with the last value after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T>, expected: T, timeoutMs = 30_000, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe().catch(() => undefined);
    if (JSON.stringify(last) === JSON.stringify(expected) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  expect(last).toEqual(expected);
}
