/** Small helpers shared by the end-to-end HTTP tests (test/e2e/*.test.ts). */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import Decimal from 'decimal.js';
import type { Db } from '../../src/db/knex';
import { awaitTransferOutcome, type HttpClient, type HttpResponse } from '../support/harness';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** POST /v1/transfers with an Idempotency-Key (a fresh UUID unless given; `null` sends none). */
export function postTransfer(client: HttpClient, body: unknown, key: string | null = randomUUID()): Promise<HttpResponse> {
  return client.post('/v1/transfers', body, key === null ? {} : { headers: { 'idempotency-key': key } });
}

/** The transfer's final representation: the POST body when it answered 201, polled when it answered 202. */
export async function settled(client: HttpClient, res: HttpResponse): Promise<any> {
  if (res.status === 201) return res.body;
  if (res.status !== 202) throw new Error(`expected 201 or 202, got ${res.status}: ${JSON.stringify(res.body)}`);
  const done = await awaitTransferOutcome(client, res.body.id);
  expect(done.status).toBe(200);
  return done.body;
}

export async function balancesOf(client: HttpClient, accountId: string): Promise<{ posted: string; pending: string; available: string }> {
  const res = await client.get(`/v1/accounts/${accountId}`);
  expect(res.status).toBe(200);
  return res.body.balances;
}

export async function deposit(client: HttpClient, accountId: string, amount: string): Promise<void> {
  const res = await client.post(`/v1/accounts/${accountId}/deposits`, { amount, reference: 'top up' });
  expect(res.status).toBe(201);
}

/** Follows next_cursor from the first page to the last; returns the pages' items in order and the page count. */
export async function allPages(client: HttpClient, path: string): Promise<{ items: any[]; pages: number }> {
  const items: any[] = [];
  let pages = 0;
  let cursor: string | null = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const res: HttpResponse = await client.get(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    expect(res.status).toBe(200);
    items.push(...res.body.data);
    cursor = res.body.next_cursor;
    pages++;
    if (pages > 1000) throw new Error('pagination does not end');
  } while (cursor !== null);
  return { items, pages };
}

/** The error envelope: {code: "422 Unprocessable Entity", message, errors: [{error_code, message, path}], id}. */
export function expectErrorEnvelope(res: HttpResponse, status: number, errorCode: string, path?: string | null): void {
  expect({ status: res.status, errorCode: res.body?.errors?.[0]?.error_code }).toEqual({ status, errorCode });
  expect(res.body).toEqual({
    code: `${status} ${STATUS_CODES[status]}`,
    message: expect.any(String),
    errors: expect.any(Array),
    // 429 and 503 say how long to wait, as the Retry-After header does.
    ...(status === 429 || status === 503 ? { retry_after_seconds: Number(res.headers.get('retry-after')) } : {}),
    id: expect.stringMatching(/^req_[0-9a-f]{32}$/),
  });
  expect(res.body.message.length).toBeGreaterThan(0);
  expect(res.headers.get('x-request-id')).toBe(res.body.id);
  for (const e of res.body.errors) {
    expect(Object.keys(e).sort()).toEqual(['error_code', 'message', 'path']);
    expect(typeof e.message).toBe('string');
  }
  if (path !== undefined) expect(res.body.errors[0].path).toBe(path);
}

export async function count(query: ReturnType<Db>): Promise<number> {
  const row = (await query.count<{ n: string }[]>({ n: '*' }))[0];
  return Number(row?.n ?? 0);
}

/** Asserts that a list of entries (newest first, one account, the account's whole history) has consistent running balances. */
export function expectRunningBalances(entries: any[]): void {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const signed = e.type === 'debit' ? new Decimal(e.amount).neg() : new Decimal(e.amount);
    const before = i + 1 < entries.length ? new Decimal(entries[i + 1].balance) : new Decimal(0);
    expect({ entry: e.id, balance: new Decimal(e.balance).toString() }).toEqual({ entry: e.id, balance: before.plus(signed).toString() });
  }
}
