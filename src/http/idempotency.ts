import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { ApiError, HttpErrorCode } from './errors';

export const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header (seed 002 recommends a UUID); `required` makes its absence a 422. */
export function idempotencyKeyOf(req: Request, required: true): string;
export function idempotencyKeyOf(req: Request, required: false): string | undefined;
export function idempotencyKeyOf(req: Request, required: boolean): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined || key === '') {
    if (required) throw ApiError.of(HttpErrorCode.IdempotencyKeyMissing, 'The Idempotency-Key header is required.', 'header/Idempotency-Key');
    return undefined;
  }
  if (!KEY_FORMAT.test(key)) {
    throw ApiError.of(HttpErrorCode.InvalidValue, 'Idempotency-Key must be 1-255 printable ASCII characters.', 'header/Idempotency-Key');
  }
  return key;
}

/** SHA-256 of a value's canonical JSON (keys sorted), so the same body hashes the same however it was written. */
export function requestHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
