/**
 * The benchmark's HTTP client (undici, keep-alive connections) and the fixtures it creates through
 * the public API: funded accounts, FX rates, a spread and a tariff, beneficiaries.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { RailControls } from '../stack/rail/server';

export type ApiResponse = { status: number; body: any; headers: Record<string, string | string[] | undefined> };

/** `timeoutMs`: a request not answered within it fails (on the wire, as a dropped connection would). */
export function apiClient(baseUrl: string, key: string, connections: number, opts: { timeoutMs?: number } = {}) {
  const timeouts = opts.timeoutMs ? { headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs } : {};
  const pool = new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 30_000, ...timeouts });
  async function request(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const res = await pool.request({
      method,
      path,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }
  const expectOk = async (res: Promise<ApiResponse>, what: string) => {
    const r = await res;
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    request,
    get: (path: string) => request('GET', path),
    post: (path: string, body: unknown, headers?: Record<string, string>) => request('POST', path, body, headers),
    /** POST/PUT that must succeed (fixtures). */
    must: (method: 'POST' | 'PUT', path: string, body: unknown) => expectOk(request(method, path, body), `${method} ${path}`),
    close: () => pool.close(),
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

/** A customer with one funded account in `currency`. */
export async function fundedAccount(api: ApiClient, currency: string, deposit: string, name = 'Bench Customer') {
  const customer = await api.must('POST', '/v1/customers', { name, country: 'GB' });
  const account = await api.must('POST', '/v1/accounts', { customer_id: customer.id, currency });
  if (deposit !== '0') await api.must('POST', `/v1/accounts/${account.id}/deposits`, { amount: deposit, reference: 'bench funding' });
  return { customerId: customer.id as string, accountId: account.id as string };
}

export type Movement = {
  path: '/v1/transfers' | '/v1/payouts';
  body: Record<string, unknown>;
  /** A payout's beneficiary account at the simulated rail and the behaviour set for it there. */
  rail?: { account: string; controls: RailControls };
};

/** Pairs of accounts (one source per virtual client, so clients do not queue on one payer's balance). */
export async function sameCurrencyFixtures(api: ApiClient, n: number): Promise<Movement[]> {
  const sources = await Promise.all(Array.from({ length: n }, () => fundedAccount(api, 'USD', '1000000.00')));
  const destinations = await Promise.all(Array.from({ length: n }, () => fundedAccount(api, 'USD', '0')));
  return sources.map((s, i) => ({
    path: '/v1/transfers',
    body: { source_account_id: s.accountId, destination_account_id: destinations[i]?.accountId, source_amount: '1.00', reference: 'bench' },
  }));
}

/**
 * Same-currency transfers whose source customers each have a webhook endpoint at `url`: every
 * completed transfer records its event in its commit and is delivered (bench/webhook-receiver.ts).
 */
export async function webhookFixtures(api: ApiClient, n: number, url: string): Promise<Movement[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const source = await fundedAccount(api, 'USD', '1000000.00');
      const destination = await fundedAccount(api, 'USD', '0');
      await api.must('POST', '/v1/webhook-endpoints', { customer_id: source.customerId, url, event_types: ['transfer.completed'] });
      return {
        path: '/v1/transfers' as const,
        body: { source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '1.00', reference: 'bench webhook' },
      };
    }),
  );
}

/**
 * EUR → USD transfers with a fixed fee and a spread: every one posts to the same fee revenue, spread
 * revenue and FX position accounts.
 */
export async function fxFixtures(api: ApiClient, n: number): Promise<Movement[]> {
  await api.must('PUT', '/v1/fx/rates/USD/EUR', { rate: '0.92' });
  await api.must('PUT', '/v1/fx/spreads/EUR/USD', { percentage: '0.5' });
  const tariffs = await api.get('/v1/tariffs');
  if (!tariffs.body.data.some((t: { operation: string; currency: string }) => t.operation === 'account_to_account_fx' && t.currency === 'EUR')) {
    await api.must('POST', '/v1/tariffs', {
      operation: 'account_to_account_fx',
      currency: 'EUR',
      ranges: [{ min_amount: '0', max_amount: null, fixed_amount: '0.50', percentage: '0', tx_description: 'FX fee' }],
    });
  }
  const sources = await Promise.all(Array.from({ length: n }, () => fundedAccount(api, 'EUR', '1000000.00')));
  const destinations = await Promise.all(Array.from({ length: n }, () => fundedAccount(api, 'USD', '0')));
  return sources.map((s, i) => ({
    path: '/v1/transfers',
    body: { source_account_id: s.accountId, destination_account_id: destinations[i]?.accountId, target_amount: '10.00', reference: 'bench fx' },
  }));
}

/** Sets the simulated rail's behaviour for one beneficiary account (PUT /controls/:account). */
export async function setRailControls(railUrl: string, account: string, controls: RailControls): Promise<void> {
  const res = await fetch(`${railUrl}/controls/${account}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(controls) });
  if (!res.ok) throw new Error(`rail controls: ${res.status}`);
}

/** Payouts to beneficiaries whose bank answers at once (rail latency 0, settled at once), or as `controls(i)` says. */
export async function payoutFixtures(api: ApiClient, railUrl: string, n: number, controls: (i: number) => RailControls = () => ({ latency_ms: 0, settle_after_ms: 0 })): Promise<Movement[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const source = await fundedAccount(api, 'USD', '1000000.00');
      const accountNumber = String(10_000_000 + i) + randomUUID().replace(/\D/g, '').slice(0, 6);
      const beneficiary = await api.must('POST', '/v1/beneficiaries', {
        customer_id: source.customerId,
        name: 'Bench Beneficiary',
        country: 'DE',
        currency: 'USD',
        bank_details: { account_number: accountNumber, bank_code: 'BENCH01' },
      });
      const rail = { account: accountNumber, controls: controls(i) };
      await setRailControls(railUrl, rail.account, rail.controls);
      return { path: '/v1/payouts' as const, body: { source_account_id: source.accountId, beneficiary_id: beneficiary.id, source_amount: '1.00', reference: 'bench payout' }, rail };
    }),
  );
}
