import { ApplicationFailure } from '@temporalio/common';
import { railCalls } from '../observability/metrics';

/** What the payout workflow needs from a payout rail; the simulated rail and a real bank implement it. */
export interface PayoutRail {
  /** Sends a payout; idempotent on payoutId. Throws on transient failures (to be retried). */
  send(p: {
    payoutId: string;
    amount: string;
    currency: string;
    beneficiary: { name: string; iban?: string; account_number?: string; bank_code?: string };
    reference: string;
    callbackUrl: string;
  }): Promise<{ status: 'accepted'; railReference: string } | { status: 'rejected'; reason: string }>;
  /** The rail's view of a payout, for reconciliation when a callback is missed. */
  status(payoutId: string): Promise<{ status: 'accepted' | 'rejected' | 'settled' | 'returned' | 'unknown'; railReference?: string; reason?: string }>;
}

/** The HTTP rail adapter: 5xx and network errors are retryable, a 422 is a permanent rejection. */
export function createHttpRail(baseUrl: string, timeoutMs = 10_000): PayoutRail {
  const call = async (path: string, init?: RequestInit) => {
    let res: globalThis.Response;
    try {
      res = await fetch(`${baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new Error(`payout rail unreachable: ${(err as Error).message}`, { cause: err });
    }
    if (res.status >= 500) throw new Error(`payout rail answered ${res.status}`);
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  /** Each call in the metrics, by its result; a throw is `error` (retried) or `bad_request` (not). */
  const timed = async <T>(operation: 'send' | 'status', run: () => Promise<T>, resultOf: (r: T) => string): Promise<T> => {
    const end = railCalls.startTimer({ operation });
    try {
      const result = await run();
      end({ result: resultOf(result) });
      return result;
    } catch (err) {
      end({ result: err instanceof ApplicationFailure ? 'bad_request' : 'error' });
      throw err;
    }
  };
  const http: PayoutRail = {
    async send(p) {
      const res = await call('/payments', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          payout_id: p.payoutId,
          amount: p.amount,
          currency: p.currency,
          beneficiary: p.beneficiary,
          reference: p.reference,
          callback_url: p.callbackUrl,
        }),
      });
      if (res.status === 422) return { status: 'rejected', reason: String(res.body.reason ?? 'rejected by the rail') };
      if (res.status === 200 || res.status === 201) return { status: 'accepted', railReference: String(res.body.rail_reference) };
      // A 4xx other than 422 means we sent something the rail cannot take: retrying will not help.
      throw ApplicationFailure.create({ type: 'RailBadRequest', message: `payout rail answered ${res.status}`, nonRetryable: true });
    },
    async status(payoutId) {
      const res = await call(`/payments/${encodeURIComponent(payoutId)}`);
      if (res.status === 404) return { status: 'unknown' };
      return {
        status: res.body.status as 'accepted' | 'rejected' | 'settled' | 'returned',
        railReference: String(res.body.rail_reference),
        reason: res.body.reason ? String(res.body.reason) : undefined,
      };
    },
  };
  const RESULTS = ['accepted', 'rejected', 'settled', 'returned', 'unknown'];
  const bounded = (status: string) => (RESULTS.includes(status) ? status : 'other');
  return {
    send: (p) => timed('send', () => http.send(p), (r) => r.status),
    status: (payoutId) => timed('status', () => http.status(payoutId), (r) => bounded(r.status)),
  };
}
