import Decimal from 'decimal.js';
import { Refusal, type CodeOf } from '../refusal';

/**
 * Exact money arithmetic. Amounts travel as decimal strings (wire, workflow payloads),
 * live as NUMERIC in Postgres and as `Money` (a decimal.js clone) in code. Never a JS number.
 *
 * Rounding rules, to the currency's ISO 4217 minor units:
 * - fees and other amounts the service sets: half away from zero ("round half up" on magnitudes;
 *   decimal.js ROUND_HALF_UP), the convention of EU Regulation 1103/97;
 * - the computed side of a conversion: in the house's favour (roundForClient), so rounding never
 *   pays a client more than the formula. The precision of 40
 * significant digits keeps intermediate results (rates, products) exact for any amount
 * we accept.
 */
export const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -40, toExpPos: 40 });
export type Money = Decimal;

export const ROUNDING_MODE = Decimal.ROUND_HALF_UP;

/** Largest number of integer digits an amount may have (seed 001: "amount" is 1-11 characters; we allow more). */
export const MAX_INTEGER_DIGITS = 15;

/** Why an amount a client gave is refused: money's refusals. */
export const AmountRefusal = {
  Invalid: 'invalid_amount',
  NotPositive: 'amount_not_positive',
  TooManyDecimals: 'too_many_decimals',
  TooLarge: 'amount_too_large',
} as const;
export type AmountRefusalCode = CodeOf<typeof AmountRefusal>;

export type ParsedAmount = { ok: true; value: Money } | { ok: false; error: { code: AmountRefusalCode; message: string } };

// Plain decimal notation only: digits, an optional fraction. No sign, exponent, spaces or leading zeros.
const DECIMAL_STRING = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/**
 * Parses a client-supplied amount for a currency with `minorUnits` decimals.
 * Only strings are accepted: a JSON number has already lost exactness.
 */
export function parseAmount(input: unknown, minorUnits: number): ParsedAmount {
  if (typeof input !== 'string') {
    return fail(AmountRefusal.Invalid, 'Amount must be a decimal string, e.g. "10.50".');
  }
  const match = DECIMAL_STRING.exec(input);
  if (!match) {
    return fail(AmountRefusal.Invalid, 'Amount must be a plain decimal string of digits with an optional fraction, e.g. "10.50".');
  }
  const [, integerPart = '', fraction = ''] = match;
  if (integerPart.length > MAX_INTEGER_DIGITS) {
    return fail(AmountRefusal.TooLarge, `Amount may have at most ${MAX_INTEGER_DIGITS} integer digits.`);
  }
  const decimals = fraction.length > 0 ? fraction.length - 1 : 0;
  if (decimals > minorUnits) {
    return fail(
      AmountRefusal.TooManyDecimals,
      minorUnits === 0
        ? 'This currency has no minor units: the amount must be a whole number.'
        : `This currency allows at most ${minorUnits} decimal places.`,
    );
  }
  const value = new Money(input);
  if (!value.gt(0)) {
    return fail(AmountRefusal.NotPositive, 'Amount must be greater than zero.');
  }
  return { ok: true, value };
}

function fail(code: AmountRefusalCode, message: string): ParsedAmount {
  return { ok: false, error: { code, message } };
}

/** An amount a client gave in the input at `path`, for a currency with `minorUnits` decimals; refused otherwise. */
export function requireAmount(value: unknown, minorUnits: number, path: string): Money {
  const parsed = parseAmount(value, minorUnits);
  if (!parsed.ok) throw new Refusal(parsed.error.code, parsed.error.message, path);
  return parsed.value;
}

/** Rounds to the currency's minor units with the documented rule (half away from zero). */
export function roundToMinorUnits(value: Decimal.Value, minorUnits: number): Money {
  return new Money(value).toDecimalPlaces(minorUnits, ROUNDING_MODE);
}

/**
 * Rounds an amount the service computes for a client (the converted side of a transfer) so that
 * the client never gets more, nor pays less, than the exact formula gives: what the client
 * receives is rounded down, what the client pays is rounded up. Rounding half up instead would
 * let a stream of tiny conversions (1 JPY → 0.0067 USD → 0.01 USD) draw money from the house.
 */
export function roundForClient(value: Decimal.Value, minorUnits: number, side: 'receives' | 'pays'): Money {
  return new Money(value).toDecimalPlaces(minorUnits, side === 'receives' ? Decimal.ROUND_DOWN : Decimal.ROUND_UP);
}

/** The canonical string of an amount: exactly `minorUnits` decimals ("10.50", "1000" for JPY, "1.250" for KWD). */
export function formatAmount(value: Decimal.Value, minorUnits: number): string {
  const d = new Money(value);
  if (!d.equals(d.toDecimalPlaces(minorUnits))) {
    throw new RangeError(`Amount ${d.toString()} has more than ${minorUnits} decimals; round it first`);
  }
  return d.toFixed(minorUnits);
}

/**
 * An amount for people to read, with its currency: `12000.00 USD` (not the database's
 * `12000.00000000`). An amount with more decimals than the currency has (a rate-derived figure) is
 * shown rounded half up to the minor units.
 */
export function displayAmount(value: Decimal.Value, minorUnits: number, currency: string): string {
  return `${roundToMinorUnits(value, minorUnits).toFixed(minorUnits)} ${currency.trim()}`;
}
