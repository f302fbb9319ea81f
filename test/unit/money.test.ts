import fc from 'fast-check';
import { formatAmount, MAX_INTEGER_DIGITS, Money, parseAmount, roundForClient, roundToMinorUnits } from '../../src/money/money';

const USD = 2;
const JPY = 0;
const KWD = 3;

/** The error code parseAmount returns, or 'ok' with the canonical string of the parsed value. */
function outcome(input: unknown, minorUnits: number): string {
  const parsed = parseAmount(input, minorUnits);
  return parsed.ok ? `ok:${formatAmount(parsed.value, minorUnits)}` : parsed.error.code;
}

/** The decimal string of `units` minor units with `minorUnits` decimals, built with bigint only. */
function fromMinorUnits(units: bigint, minorUnits: number): string {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const scale = 10n ** BigInt(minorUnits);
  const integer = (magnitude / scale).toString();
  const fraction = (magnitude % scale).toString().padStart(minorUnits, '0');
  return `${negative ? '-' : ''}${integer}${minorUnits > 0 ? `.${fraction}` : ''}`;
}

describe('parseAmount', () => {
  it.each([
    ['10', USD, '10.00'],
    ['10.5', USD, '10.50'],
    ['10.50', USD, '10.50'],
    ['0.01', USD, '0.01'],
    ['1000', JPY, '1000'],
    ['1.250', KWD, '1.250'],
    ['1.25', KWD, '1.250'],
    ['0.001', KWD, '0.001'],
  ])('accepts %j with %i minor units as %s', (input, minorUnits, canonical) => {
    const parsed = parseAmount(input, minorUnits);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(formatAmount(parsed.value, minorUnits)).toBe(canonical);
    expect(parsed.value.eq(input)).toBe(true);
  });

  it.each([
    ['0.001', USD],
    ['10.505', USD],
    ['1.5', JPY],
    ['1.0', JPY],
    ['1.2345', KWD],
    ['1.2500', KWD],
  ])('rejects %j with %i minor units as too_many_decimals', (input, minorUnits) => {
    expect(outcome(input, minorUnits)).toBe('too_many_decimals');
  });

  it('names the limit in the too_many_decimals message', () => {
    const usd = parseAmount('0.001', USD);
    const jpy = parseAmount('1.5', JPY);
    expect(!usd.ok && usd.error.message).toContain('2 decimal places');
    expect(!jpy.ok && jpy.error.message).toContain('whole number');
  });

  it.each([
    ['0', USD],
    ['0.00', USD],
    ['0.0', USD],
    ['0', JPY],
    ['0.000', KWD],
  ])('rejects %j with %i minor units as amount_not_positive', (input, minorUnits) => {
    expect(outcome(input, minorUnits)).toBe('amount_not_positive');
  });

  it.each(['-1', '+1', '1e3', '1E3', ' 1', '1 ', '1\n', '01', '00', '00.5', '.5', '5.', '1,000', '1_000', '0x10', '', '1.2.3', 'NaN', 'Infinity', '١٢', '10.5 USD'])(
    'rejects %j as invalid_amount in every currency',
    (input) => {
      for (const minorUnits of [USD, JPY, KWD]) expect(outcome(input, minorUnits)).toBe('invalid_amount');
    },
  );

  it.each([[10], [10.5], [0], [null], [undefined], [10n], [{}], [['10']], [true]])('rejects the non-string %p as invalid_amount', (input) => {
    expect(outcome(input, USD)).toBe('invalid_amount');
  });

  it('allows at most 15 integer digits', () => {
    expect(MAX_INTEGER_DIGITS).toBe(15);
    const fifteen = '9'.repeat(15);
    const sixteen = '1' + '0'.repeat(15);
    expect(outcome(fifteen, USD)).toBe(`ok:${fifteen}.00`);
    expect(outcome(`${fifteen}.99`, USD)).toBe(`ok:${fifteen}.99`);
    expect(outcome(`${fifteen}.999`, KWD)).toBe(`ok:${fifteen}.999`);
    expect(outcome(sixteen, USD)).toBe('amount_too_large');
    expect(outcome(`${sixteen}.5`, USD)).toBe('amount_too_large');
    expect(outcome(sixteen, JPY)).toBe('amount_too_large');
  });
});

describe('formatAmount', () => {
  it.each([
    ['10', USD, '10.00'],
    ['10.5', USD, '10.50'],
    ['0.1', USD, '0.10'],
    ['1000', JPY, '1000'],
    ['1.25', KWD, '1.250'],
    ['1.250', KWD, '1.250'],
    ['100.00000000', USD, '100.00'], // NUMERIC(38, 8) as Postgres returns it
    ['123456789012345.67', USD, '123456789012345.67'],
    ['-10.5', USD, '-10.50'],
  ])('formats %j with %i minor units as %s', (input, minorUnits, expected) => {
    expect(formatAmount(input, minorUnits)).toBe(expected);
  });

  it.each([
    ['10.005', USD],
    ['1.5', JPY],
    ['1.2345', KWD],
    ['0.00000001', USD],
  ])('throws on %j with %i minor units (not rounded)', (input, minorUnits) => {
    expect(() => formatAmount(input, minorUnits)).toThrow(RangeError);
  });
});

describe('roundToMinorUnits', () => {
  it.each([
    ['0.005', USD, '0.01'],
    ['0.015', USD, '0.02'],
    ['0.025', USD, '0.03'],
    ['0.004', USD, '0.00'],
    ['0.0049999999', USD, '0.00'],
    ['1.995', USD, '2.00'],
    ['2.5', JPY, '3'],
    ['3.5', JPY, '4'],
    ['2.4999', JPY, '2'],
    ['0.0005', KWD, '0.001'],
    ['1.2345', KWD, '1.235'],
    ['-0.005', USD, '-0.01'],
    ['-0.015', USD, '-0.02'],
    ['-2.5', JPY, '-3'],
    ['-0.0005', KWD, '-0.001'],
    ['10.50', USD, '10.50'],
  ])('rounds %j to %i minor units as %s (half away from zero)', (input, minorUnits, expected) => {
    expect(formatAmount(roundToMinorUnits(input, minorUnits), minorUnits)).toBe(expected);
  });

  it('matches a bigint reference implementation of half away from zero', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        (units, minorUnits, extraDigits) => {
          const input = fromMinorUnits(units, minorUnits + extraDigits);
          const divisor = 10n ** BigInt(extraDigits);
          const magnitude = units < 0n ? -units : units;
          let rounded = magnitude / divisor;
          if ((magnitude % divisor) * 2n >= divisor) rounded += 1n;
          const expected = fromMinorUnits(units < 0n && rounded !== 0n ? -rounded : rounded, minorUnits);
          expect(formatAmount(roundToMinorUnits(input, minorUnits), minorUnits)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('roundForClient (the computed side of a conversion)', () => {
  test.each([
    // [value, minor units, what the client receives (down), what the client pays (up)]
    ['0.0067', 2, '0.00', '0.01'],
    ['10.005', 2, '10.00', '10.01'],
    ['10.0049999', 2, '10.00', '10.01'],
    ['10.01', 2, '10.01', '10.01'],
    ['2.5', 0, '2', '3'],
    ['99.9999', 3, '99.999', '100.000'],
  ])('%s with %i decimals: receives %s, pays %s', (value, units, receives, pays) => {
    expect(roundForClient(value, units, 'receives').toFixed(units)).toBe(receives);
    expect(roundForClient(value, units, 'pays').toFixed(units)).toBe(pays);
  });

  test('never gives a client more, nor charges less, than the exact value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 20n }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 3 }), (digits, scale, units) => {
        const exact = scale === 0 ? digits.toString() : `${digits / 10n ** BigInt(scale)}.${(digits % 10n ** BigInt(scale)).toString().padStart(scale, '0')}`;
        const down = roundForClient(exact, units, 'receives');
        const up = roundForClient(exact, units, 'pays');
        expect(down.lte(exact) && up.gte(exact)).toBe(true);
        expect(up.minus(down).lte(new Money(10).pow(-units))).toBe(true);
      }),
    );
  });
});

describe('round trip', () => {
  it('formatAmount(parseAmount(formatAmount(x))) is exact for any positive amount, with strings built from bigints', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }).chain((minorUnits) =>
          fc.tuple(fc.constant(minorUnits), fc.bigInt({ min: 1n, max: 10n ** BigInt(MAX_INTEGER_DIGITS + minorUnits) - 1n })),
        ),
        ([minorUnits, units]) => {
          const canonical = fromMinorUnits(units, minorUnits);
          expect(formatAmount(canonical, minorUnits)).toBe(canonical);
          const parsed = parseAmount(canonical, minorUnits);
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          expect(formatAmount(parsed.value, minorUnits)).toBe(canonical);
          // The parsed value holds exactly `units` minor units.
          expect(parsed.value.times(`1${'0'.repeat(minorUnits)}`).toFixed(0)).toBe(units.toString());
          // A shorter spelling (trailing fraction zeros dropped) parses to the same canonical string.
          const short = canonical.includes('.') ? canonical.replace(/\.?0+$/, '') : canonical;
          const reparsed = parseAmount(short, minorUnits);
          expect(reparsed.ok && formatAmount(reparsed.value, minorUnits)).toBe(canonical);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('includes the largest accepted amounts exactly', () => {
    for (const minorUnits of [USD, JPY, KWD]) {
      const max = fromMinorUnits(10n ** BigInt(MAX_INTEGER_DIGITS + minorUnits) - 1n, minorUnits);
      expect(outcome(max, minorUnits)).toBe(`ok:${max}`);
    }
  });
});
