/**
 * Signed rail callbacks (src/rail/signature.ts): the signer (the rail) and the verifier (the API's
 * POST /rail/events) share this module. Also the simulated rail's side of it (src/rail/server.ts):
 * every callback attempt signed, a 409 rail_reference_not_recorded retried, anything else final.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  RAIL_SIGNATURE_HEADER,
  RAIL_TIMESTAMP_HEADER,
  railSignature,
  signRailCallback,
  verifyRailCallback,
} from '../../src/rail/signature';
import { createRailApp } from '../../stack/rail/server';

const SECRET = 'rail_test_secret_0123456789';
const BODY = '{"payout_id":"0b5c8e0e-3f43-4a4e-9b7e-2d9f3c1a7e10","rail_reference":"RAIL0123456789AB","event":"settled"}';
const T = 1_700_000_000;
/** `printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac "$SECRET"`: computed outside this code. */
const KNOWN = '4b1c7c187436413eaf0d010e31476c27854a24bd32a55b0799f1c00eb0bbee12';

const verify = (over: Partial<Parameters<typeof verifyRailCallback>[0]> = {}) => {
  const headers = signRailCallback(SECRET, BODY, T);
  return verifyRailCallback({
    secret: SECRET,
    timestamp: headers[RAIL_TIMESTAMP_HEADER],
    signature: headers[RAIL_SIGNATURE_HEADER],
    body: Buffer.from(BODY),
    toleranceSeconds: 300,
    now: T,
    ...over,
  });
};
const reason = (check: ReturnType<typeof verifyRailCallback>) => (check.ok ? 'ok' : check.reason);

describe('rail callback signatures', () => {
  test('v1 is hex HMAC-SHA256(secret, "<timestamp>.<raw body>"), sent as X-Rail-Timestamp and X-Rail-Signature', () => {
    expect(railSignature(SECRET, String(T), BODY)).toBe(KNOWN);
    expect(signRailCallback(SECRET, BODY, T)).toEqual({ 'x-rail-timestamp': '1700000000', 'x-rail-signature': `v1=${KNOWN}` });
    // A Buffer of the same bytes signs the same; a string of unicode is signed as its UTF-8 bytes.
    expect(railSignature(SECRET, String(T), Buffer.from(BODY))).toBe(KNOWN);
    expect(railSignature(SECRET, '1', 'é')).toBe(railSignature(SECRET, '1', Buffer.from('é', 'utf8')));
  });

  test('a genuine callback verifies, at any moment inside the tolerance window (both ways, edges included)', () => {
    expect(verify()).toEqual({ ok: true });
    for (const now of [T - 300, T - 1, T + 1, T + 300]) expect({ now, result: reason(verify({ now })) }).toEqual({ now, result: 'ok' });
    // With the real clock: signed now, verified now.
    const headers = signRailCallback(SECRET, BODY);
    expect(verifyRailCallback({ secret: SECRET, timestamp: headers[RAIL_TIMESTAMP_HEADER], signature: headers[RAIL_SIGNATURE_HEADER], body: BODY, toleranceSeconds: 5 })).toEqual({ ok: true });
  });

  test('a captured callback stops working once the window has passed; a timestamp from the future is refused too', () => {
    expect(reason(verify({ now: T + 301 }))).toBe('stale');
    expect(reason(verify({ now: T + 86_400 }))).toBe('stale');
    expect(reason(verify({ now: T - 301 }))).toBe('stale');
    expect(reason(verify({ now: T + 31, toleranceSeconds: 30 }))).toBe('stale');
  });

  test('nothing can be forged or altered: another body, timestamp or secret, or a truncated signature, fails', () => {
    const sig = `v1=${KNOWN}`;
    expect(reason(verify({ body: BODY.replace('settled', 'returned') }))).toBe('mismatch');
    expect(reason(verify({ body: `${BODY} ` }))).toBe('mismatch');
    expect(reason(verify({ secret: `${SECRET}x` }))).toBe('mismatch');
    // The signature of one moment moved to another (inside the window) does not match.
    expect(reason(verify({ timestamp: String(T + 10), signature: sig }))).toBe('mismatch');
    const flipped = `v1=${KNOWN.slice(0, -1)}${KNOWN.endsWith('0') ? '1' : '0'}`;
    expect(reason(verify({ signature: flipped }))).toBe('mismatch');
  });

  test('missing or malformed headers are refused', () => {
    expect(reason(verify({ signature: undefined }))).toBe('missing');
    expect(reason(verify({ timestamp: undefined }))).toBe('missing');
    expect(reason(verify({ timestamp: '', signature: '' }))).toBe('missing');
    for (const signature of [KNOWN, `v0=${KNOWN}`, `v1=${KNOWN.slice(2)}`, `v1=${KNOWN.toUpperCase()}`, `v1=${KNOWN}00`, `v1=${'z'.repeat(64)}`, SECRET]) {
      expect({ signature, result: reason(verify({ signature })) }).toEqual({ signature, result: 'malformed' });
    }
    for (const timestamp of ['-1700000000', '1700000000.5', '1.7e9', 'now', '0x6553f100', '1'.repeat(13)]) {
      expect({ timestamp, result: reason(verify({ timestamp })) }).toEqual({ timestamp, result: 'malformed' });
    }
  });
});

describe('the simulated rail’s callbacks', () => {
  type Received = { headers: IncomingMessage['headers']; body: string };
  let server: Server;
  let received: Received[];
  let answers: Array<{ status: number; body: unknown }>;
  let railServer: Server;
  let railUrl: string;

  beforeEach(async () => {
    received = [];
    answers = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const answer = answers.shift() ?? { status: 202, body: { accepted: true } };
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    railServer = createRailApp({ callbackSecret: SECRET }).listen(0, '127.0.0.1');
    await new Promise<void>((r) => railServer.once('listening', r));
    railUrl = `http://127.0.0.1:${(railServer.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    railServer.closeAllConnections();
    server.closeAllConnections();
    await Promise.all([new Promise((r) => railServer.close(r)), new Promise((r) => server.close(r))]);
  });

  const envelope = (status: number, code: string) => ({ status, body: { code: `${status}`, message: 'x', errors: [{ error_code: code, message: 'x', path: null }], id: 'req_1' } });

  async function pay(payoutId: string) {
    const callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rail/events`;
    const res = await fetch(`${railUrl}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payout_id: payoutId, amount: '10.00', currency: 'GBP', beneficiary: { account_number: '12345678' }, callback_url: callbackUrl }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { rail_reference: string };
  }

  async function until(what: () => boolean, ms = 5_000) {
    const deadline = Date.now() + ms;
    while (!what()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const expectSigned = (r: Received) => {
    const check = verifyRailCallback({
      secret: SECRET,
      timestamp: r.headers[RAIL_TIMESTAMP_HEADER] as string | undefined,
      signature: r.headers[RAIL_SIGNATURE_HEADER] as string | undefined,
      body: r.body,
      toleranceSeconds: 5,
    });
    expect(check).toEqual({ ok: true });
    expect(r.headers['x-rail-secret']).toBeUndefined();
  };

  test('each attempt is signed; a 409 rail_reference_not_recorded is retried until accepted', async () => {
    answers.push(envelope(409, 'rail_reference_not_recorded'), envelope(409, 'rail_reference_not_recorded'));
    const payment = await pay('0b5c8e0e-3f43-4a4e-9b7e-2d9f3c1a7e11');
    await until(() => received.length === 3);
    for (const r of received) {
      expectSigned(r);
      expect(JSON.parse(r.body)).toEqual({ payout_id: '0b5c8e0e-3f43-4a4e-9b7e-2d9f3c1a7e11', rail_reference: payment.rail_reference, event: 'settled' });
    }
    await new Promise((r) => setTimeout(r, 1_000)); // longer than the next backoff: nothing more once accepted
    expect(received).toHaveLength(3);
  });

  test('a refusal that retrying cannot change (reference mismatch, payout closed, bad signature) is not retried', async () => {
    answers.push(envelope(422, 'rail_reference_mismatch'));
    await pay('0b5c8e0e-3f43-4a4e-9b7e-2d9f3c1a7e12');
    await until(() => received.length === 1);
    answers.push(envelope(409, 'payout_closed'));
    await pay('0b5c8e0e-3f43-4a4e-9b7e-2d9f3c1a7e13');
    await until(() => received.length === 2);
    answers.push(envelope(401, 'invalid_signature'));
    await pay('0b5c8e0e-3f43-4a4e-9b7e-2d9f3c1a7e14');
    await until(() => received.length === 3);
    await new Promise((r) => setTimeout(r, 1_000)); // longer than the first two backoffs
    expect(received).toHaveLength(3);
    for (const r of received) expectSigned(r);
  });
});
