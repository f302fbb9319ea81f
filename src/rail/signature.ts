import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed rail callbacks, shared by the signer (the rail, src/rail/server.ts) and the verifier (the
 * API's POST /rail/events). Every callback carries
 *
 *   X-Rail-Timestamp: <unix seconds>
 *   X-Rail-Signature: v1=<hex HMAC-SHA256(RAIL_CALLBACK_SECRET, "<timestamp>.<raw body>")>
 *
 * The receiver recomputes the HMAC over the bytes it received (not a re-serialisation), compares in
 * constant time, and refuses a timestamp further than the tolerance from its own clock (either way),
 * so a captured callback stops working once the window has passed and nothing can be forged
 * without the secret. Replays inside the window are harmless: the event is idempotent.
 */
export const RAIL_TIMESTAMP_HEADER = 'x-rail-timestamp';
export const RAIL_SIGNATURE_HEADER = 'x-rail-signature';
export const DEFAULT_RAIL_CALLBACK_TOLERANCE_SECONDS = 300;

const VERSION = 'v1';
const TIMESTAMP_RE = /^\d{1,12}$/;
const SIGNATURE_RE = /^v1=([0-9a-f]{64})$/;

export const unixSeconds = (ms: number = Date.now()) => Math.floor(ms / 1000);

/** The hex HMAC-SHA256 of `<timestamp>.<body>` under the secret. */
export function railSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The headers that sign `body` (the exact bytes sent) at `timestamp` (unix seconds, default now). */
export function signRailCallback(secret: string, body: string | Buffer, timestamp: number = unixSeconds()): Record<string, string> {
  const ts = String(Math.floor(timestamp));
  return { [RAIL_TIMESTAMP_HEADER]: ts, [RAIL_SIGNATURE_HEADER]: `${VERSION}=${railSignature(secret, ts, body)}` };
}

export type RailSignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch'; message: string };

/** Checks a callback's signature headers against the raw body it came with. */
export function verifyRailCallback(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer | string;
  toleranceSeconds: number;
  /** Unix seconds; defaults to the clock. */
  now?: number;
}): RailSignatureCheck {
  const { timestamp, signature } = input;
  if (!timestamp || !signature) {
    return { ok: false, reason: 'missing', message: `Rail callbacks must be signed (${RAIL_TIMESTAMP_HEADER} and ${RAIL_SIGNATURE_HEADER}).` };
  }
  const given = SIGNATURE_RE.exec(signature.trim());
  if (!TIMESTAMP_RE.test(timestamp.trim()) || !given) {
    return { ok: false, reason: 'malformed', message: `Expected ${RAIL_TIMESTAMP_HEADER}: <unix seconds> and ${RAIL_SIGNATURE_HEADER}: v1=<hex HMAC-SHA256>.` };
  }
  const ts = timestamp.trim();
  const now = input.now ?? unixSeconds();
  if (Math.abs(now - Number(ts)) > input.toleranceSeconds) {
    return { ok: false, reason: 'stale', message: `The callback's timestamp is more than ${input.toleranceSeconds} seconds from now.` };
  }
  const expected = Buffer.from(railSignature(input.secret, ts, input.body), 'hex');
  const actual = Buffer.from(given[1] as string, 'hex');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return { ok: false, reason: 'mismatch', message: 'The callback signature does not match.' };
  }
  return { ok: true };
}
