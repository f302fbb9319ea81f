import express, { type Request, type Response } from 'express';
import { randomBytes } from 'node:crypto';
import { signRailCallback } from '../../src/rail/signature';

/**
 * A simulated bank payout rail, run as its own HTTP service so retries and compensation cross a
 * real network hop. Idempotent on the payout id. Behaviour per beneficiary account (IBAN or
 * account number) is set through /controls: latency, transient 5xx, permanent rejection, and a
 * late return after settlement. Settlements and returns are reported asynchronously to the
 * payment's callback_url, each attempt signed afresh with the callback secret (src/rail/signature.ts);
 * a 5xx, or a 409 saying the API has not recorded the payout's rail reference yet, is retried.
 */
export type RailControls = {
  latency_ms?: number;
  /** The next N requests for this account answer 503. */
  transient_failures?: number;
  /** Reject permanently with this reason. */
  reject?: string;
  /** Delay before the settlement callback (default 50 ms). */
  settle_after_ms?: number;
  /** After settling, return the payment this many ms later. */
  return_after_ms?: number;
};

type Payment = {
  payout_id: string;
  rail_reference: string;
  status: 'accepted' | 'rejected' | 'settled' | 'returned';
  reason: string | null;
  amount: string;
  currency: string;
  account: string;
  callback_url: string;
};

export type RailEvent = { payout_id: string; rail_reference: string; event: 'settled' | 'returned'; reason?: string };

/** The API answered before the payout's send was recorded on its side (it replies quickly): worth another try. */
async function notYetRecorded(res: globalThis.Response): Promise<boolean> {
  if (res.status !== 409) return false;
  const body = (await res.json().catch(() => null)) as { errors?: Array<{ error_code?: string }> } | null;
  return body?.errors?.[0]?.error_code === 'rail_reference_not_recorded';
}

export function createRailApp(opts: { callbackSecret: string; log?: (msg: string) => void }) {
  const log = opts.log ?? (() => undefined);
  const payments = new Map<string, Payment>();
  const controls = new Map<string, RailControls>();
  const app = express();
  app.use(express.json({ limit: '64kb' }));

  async function notify(p: Payment, event: RailEvent['event'], attempt = 1): Promise<void> {
    const payload: RailEvent = { payout_id: p.payout_id, rail_reference: p.rail_reference, event, ...(p.reason ? { reason: p.reason } : {}) };
    const body = JSON.stringify(payload);
    try {
      const res = await fetch(p.callback_url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signRailCallback(opts.callbackSecret, body) },
        body,
      });
      if ((res.status >= 500 || (await notYetRecorded(res))) && attempt < 8) throw new Error(`callback answered ${res.status}`);
    } catch (err) {
      if (attempt >= 8) return log(`giving up on ${event} callback for ${p.payout_id}: ${(err as Error).message}`);
      setTimeout(() => void notify(p, event, attempt + 1), 100 * 2 ** attempt).unref();
    }
  }

  app.post('/payments', async (req: Request, res: Response) => {
    const b = req.body as Partial<Payment> & { beneficiary?: { iban?: string; account_number?: string } };
    const account = b.beneficiary?.iban ?? b.beneficiary?.account_number ?? '';
    if (!b.payout_id || !b.amount || !b.currency || !account || !b.callback_url) {
      res.status(400).json({ error: 'payout_id, amount, currency, beneficiary and callback_url are required' });
      return;
    }
    const c = controls.get(account) ?? {};
    if (c.latency_ms) await new Promise((r) => setTimeout(r, c.latency_ms));
    const existing = payments.get(b.payout_id);
    if (existing) {
      res.status(existing.status === 'rejected' ? 422 : 200).json(existing);
      return;
    }
    if (c.transient_failures && c.transient_failures > 0) {
      c.transient_failures -= 1;
      res.status(503).json({ error: 'rail temporarily unavailable' });
      return;
    }
    const p: Payment = {
      payout_id: b.payout_id,
      rail_reference: `RAIL${randomBytes(6).toString('hex').toUpperCase()}`,
      status: c.reject ? 'rejected' : 'accepted',
      reason: c.reject ?? null,
      amount: String(b.amount),
      currency: String(b.currency),
      account,
      callback_url: String(b.callback_url),
    };
    payments.set(p.payout_id, p);
    if (p.status === 'rejected') {
      res.status(422).json(p);
      return;
    }
    res.status(201).json(p);
    setTimeout(() => {
      p.status = 'settled';
      void notify(p, 'settled');
      if (c.return_after_ms !== undefined) {
        setTimeout(() => {
          p.status = 'returned';
          p.reason = 'beneficiary account closed';
          void notify(p, 'returned');
        }, c.return_after_ms).unref();
      }
    }, c.settle_after_ms ?? 50).unref();
  });

  app.get('/payments/:id', (req: Request, res: Response) => {
    const p = payments.get(String(req.params.id));
    if (!p) res.status(404).json({ error: 'unknown payment' });
    else res.json(p);
  });

  app.put('/controls/:account', (req: Request, res: Response) => {
    controls.set(String(req.params.account), { ...(req.body as RailControls) });
    res.json(controls.get(String(req.params.account)));
  });

  app.delete('/controls/:account', (req: Request, res: Response) => {
    controls.delete(String(req.params.account));
    res.status(204).end();
  });

  app.get('/health', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  return app;
}
