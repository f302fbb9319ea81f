import { z } from 'zod';
import { ApiError, HttpErrorCode } from './errors';

/** A whole number in its one plain spelling: decimal digits, no leading zero (so no sign, exponent, point, `0x`, spaces). */
const PLAIN_WHOLE_NUMBER = /^(?:0|[1-9][0-9]*)$/;

/**
 * A whole-number query parameter from `min` to `max`, written in plain decimal digits only.
 * `Number()` (and so `z.coerce.number()`) also reads `1e2`, `0x10`, `0b11`, ` 5`, `+5`, `5.0` and `""`;
 * those are refused here: text that is not a number at all is `invalid_type` ("Expected number."),
 * a number in another spelling (or with a leading zero, which some clients read as octal) is
 * `invalid_value`, and so is one out of range.
 */
export function wholeNumberParam(min: number, max: number) {
  return z
    .unknown()
    .transform((value, ctx) => {
      if (typeof value === 'string' && PLAIN_WHOLE_NUMBER.test(value)) return Number(value);
      const notANumber = typeof value !== 'string' || value.trim() === '' || Number.isNaN(Number(value));
      ctx.addIssue(
        notANumber
          ? { code: 'invalid_type', expected: 'number', input: value }
          : { code: 'custom', input: value, message: `Must be a whole number from ${min} to ${max} in plain decimal digits (no sign, exponent, decimal point, "0x", spaces or leading zeros)` },
      );
      return z.NEVER;
    })
    .pipe(
      z
        .number()
        .min(min, `Must be from ${min} to ${max}`)
        .max(max, `Must be from ${min} to ${max}`),
    );
}

/** Every list's `limit` query parameter: 1 to `max` in plain decimal digits (see wholeNumberParam), `fallback` when absent. */
export const limitParam = (max: number, fallback: number) => wholeNumberParam(1, max).default(fallback);

export const PageQuery = {
  limit: limitParam(100, 25),
  cursor: z.string().max(512).optional(),
};

/** A real instant (no month 13, no Feb 30): anything else would reach Postgres's timestamptz cast and fail there. */
const isRealInstant = (s: string) => {
  const d = new Date(s);
  return !Number.isNaN(d.getTime()) && d.getUTCFullYear() >= 1970 && d.toISOString().slice(0, 19) === s.slice(0, 19);
};

/** The sort key of lists ordered by (created_at, id) descending: created_at to the microsecond, as Postgres keeps it. */
export const CreatedAtIdCursor = z.object({
  created_at: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/).refine(isRealInstant),
  id: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i),
});

/** Cursors are opaque to clients: base64url JSON of the last item's sort key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const invalidCursor = () => ApiError.of(HttpErrorCode.InvalidCursor, 'The cursor is not one this API returned.', '#/cursor');

/** The cursor's sort key if it has the shape the list issues; only the shape: see resolveCursor. */
export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalidCursor();
  }
}

/**
 * The cursor's sort key, once `findRow` has found the row it names among the rows the caller may
 * list (with the caller's visibility: a client's key looks up only its own customer's rows).
 * A well-formed cursor naming no such row is refused like a malformed one, 422 `invalid_cursor`
 * at `#/cursor`, rather than answering an empty page; a row that exists but is not the caller's
 * gets the same answer, so a cursor tells nothing about other customers' rows.
 */
export async function resolveCursor<T>(cursor: string | undefined, schema: z.ZodType<T>, findRow: (key: T) => Promise<unknown>): Promise<T | undefined> {
  const key = decodeCursor(cursor, schema);
  if (key === undefined) return undefined;
  if (!(await findRow(key))) throw invalidCursor();
  return key;
}

/** A page from the `limit + 1` rows asked for: the first `limit`, presented, and a cursor naming the last when more follow. */
export function pageOf<T extends { id: string }, P>(rows: T[], limit: number, present: (row: T) => P): { data: P[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { data: page.map(present), next_cursor: rows.length > limit && last ? encodeCursor({ id: last.id }) : null };
}
