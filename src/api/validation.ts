import { z } from 'zod';
import { parseAmount, type Money } from '../money/money';
import { ApiError, ApiErrorCode, pointer, type ErrorDetail } from './errors';

/** Maps zod's issues to the envelope's error details, one per problem, each with a JSON pointer. */
function toDetails(issues: z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((issue): ErrorDetail[] => {
    const path = pointer(issue.path);
    switch (issue.code) {
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({
          error_code: ApiErrorCode.UnknownField,
          message: `Unknown field "${key}".`,
          path: pointer([...issue.path, key]),
        }));
      case 'invalid_type':
        // With reportInput, an absent value is the only one whose `input` is undefined (JSON has no undefined).
        return issue.input !== undefined
          ? [{ error_code: ApiErrorCode.InvalidType, message: `Expected ${issue.expected}.`, path }]
          : [{ error_code: ApiErrorCode.MissingField, message: 'The field is missing on the request body or parameters.', path }];
      default:
        return [{ error_code: ApiErrorCode.InvalidValue, message: issue.message, path }];
    }
  });
}

/** Validates untrusted input; throws a 422 listing every problem. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ApiError(toDetails(result.error.issues));
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
  if (!r.success) throw ApiError.of(ApiErrorCode.NotFound, `No resource with this ${name}.`, null);
  return r.data;
}

const AMOUNT_ERRORS = {
  invalid_amount: ApiErrorCode.InvalidAmount,
  amount_not_positive: ApiErrorCode.AmountNotPositive,
  too_many_decimals: ApiErrorCode.TooManyDecimals,
  amount_too_large: ApiErrorCode.AmountTooLarge,
} as const;

/** A money amount for a currency with `minorUnits` decimals, or a 422 naming the field. */
export function parseAmountField(value: unknown, minorUnits: number, path: string): Money {
  const parsed = parseAmount(value, minorUnits);
  if (!parsed.ok) throw ApiError.of(AMOUNT_ERRORS[parsed.error.code], parsed.error.message, path);
  return parsed.value;
}
