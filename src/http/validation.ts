import { z } from 'zod';
import { Money } from '../money/money';
import { ApiError, HttpErrorCode, pointer, type ErrorDetail } from './errors';

/** Maps zod's issues to the envelope's error details, one per problem, each with a JSON pointer. */
function toDetails(issues: z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((issue): ErrorDetail[] => {
    const path = pointer(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({
          error_code: HttpErrorCode.UnknownField,
          message: `Unknown field "${key}".`,
          path: pointer([...issue.path, key]),
        }));
      case 'invalid_type':
        // With reportInput, an absent value is the only one whose `input` is undefined (JSON has no undefined).
        return issue.input !== undefined
          ? [{ error_code: HttpErrorCode.InvalidType, message: `Expected ${issue.expected}.`, path }]
          : [{ error_code: HttpErrorCode.MissingField, message: 'The field is missing on the request body or parameters.', path }];
      default:
        return [{ error_code: HttpErrorCode.InvalidValue, message: issue.message, path }];
    }
  });
}

/** Validates untrusted input; throws a 422 listing every problem. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ApiError(422, toDetails(result.error.issues));
  return result.data;
}

export const Uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'Must be a UUID');
/** Seed 001: reference is 1-18 characters of letters, digits, space, `_` and `-`. */
export const Reference = z.string().regex(/^[A-Za-z0-9 _-]{1,18}$/, 'Must be 1-18 letters, digits, spaces, "_" or "-"');
// NUL, or half of a UTF-16 surrogate pair: Postgres cannot store either in text or jsonb.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this pattern must find
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Free text of at most `max` characters that Postgres can store. */
export const SafeText = (max: number) =>
  z.string().max(max).refine((s) => !UNSTORABLE.test(s), 'Must be valid Unicode text without NUL characters');

/** Amounts are strings; their format is checked against the currency by src/money. */
export const AmountString = z.string().max(64);
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'Must be an ISO 4217 code such as "USD"');

/** Throws a 422 for a non-UUID path id, so a malformed id never reaches the database. */
export function pathId(value: unknown, name = 'id'): string {
  const r = Uuid.safeParse(value);
  if (!r.success) throw ApiError.of(HttpErrorCode.NotFound, `No resource with this ${name}.`, null);
  return r.data;
}

/**
 * Plain non-negative decimal strings: rates, percentages, fee amounts that may be zero. A failed
 * format aborts, so refinements that parse the value (`new Money(v)`) never see a non-number.
 */
export const DecimalString = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,14})(\.[0-9]{1,18})?$/, { error: 'Must be a non-negative decimal string such as "4040.5"', abort: true });

/** A DecimalString stored in a numeric(_, places) column: more decimals are refused, not silently rounded by Postgres. */
export const decimalWithPlaces = (places: number) =>
  DecimalString.refine((v) => new Money(v).decimalPlaces() <= places, `At most ${places} decimal places`);
