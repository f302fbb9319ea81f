import fc from 'fast-check';
import { formatAmount, Money } from '../../src/money/money';
import { feeFor, rangeFor, scheduleFeeRule, validateRanges, type TariffRange } from '../../src/tariffs/schedule';

const USD = 2;
const JPY = 0;
const KWD = 3;

/** A range for principals in [min, max) with no fee unless `extra` says otherwise. */
const range = (min: string, max: string | null, extra: Partial<TariffRange> = {}): TariffRange => ({
  id: null,
  min_amount: min,
  max_amount: max,
  fixed_amount: '0',
  percentage: '0',
  min_fee: null,
  max_fee: null,
  tx_description: null,
  ...extra,
});

const tiling = [range('0', '100', { id: 'a' }), range('100', '1000', { id: 'b' }), range('1000', null, { id: 'c' })];

describe('validateRanges', () => {
  it('accepts a tiling of [0, ∞) with an open-ended last range', () => {
    expect(validateRanges(tiling)).toEqual([]);
    expect(validateRanges([range('0', null)])).toEqual([]);
    // the boundaries are compared as decimals, not as strings
    expect(validateRanges([range('0.00', '100.00'), range('100', '250.5'), range('250.50', null)])).toEqual([]);
    // min_fee equal to max_fee is fine
    expect(validateRanges([range('0', null, { min_fee: '2', max_fee: '2.00' })])).toEqual([]);
  });

  it.each<[string, TariffRange[], ReturnType<typeof validateRanges>]>([
    ['no ranges', [], [{ index: 0, field: 'min_amount', message: 'A schedule needs at least one range.' }]],
    ['a first range not at 0', [range('10', null)], [{ index: 0, field: 'min_amount', message: 'The first range must start at 0.' }]],
    [
      'an overlap',
      [range('0', '100'), range('50', null)],
      [{ index: 1, field: 'min_amount', message: 'This range overlaps the previous one: it must start at 100.' }],
    ],
    [
      'a gap',
      [range('0', '100'), range('100', '500'), range('600', null)],
      [{ index: 2, field: 'min_amount', message: 'This range leaves a gap after the previous one: it must start at 500.' }],
    ],
    [
      'an open-ended range that is not last',
      [range('0', null), range('100', null)],
      [{ index: 0, field: 'max_amount', message: 'Only the last range may be open-ended.' }],
    ],
    [
      'a last range that is not open-ended',
      [range('0', '100'), range('100', '200')],
      [{ index: 1, field: 'max_amount', message: 'The last range must be open-ended (max_amount null).' }],
    ],
    [
      'max equal to min',
      [range('0', '0'), range('0', null)],
      [{ index: 0, field: 'max_amount', message: 'max_amount must be greater than min_amount.' }],
    ],
    [
      'max below min',
      [range('0', '100'), range('100', '50'), range('50', null)],
      [{ index: 1, field: 'max_amount', message: 'max_amount must be greater than min_amount.' }],
    ],
    [
      'min_fee above max_fee',
      [range('0', '100'), range('100', null, { min_fee: '5.00', max_fee: '2.50' })],
      [{ index: 1, field: 'min_fee', message: 'min_fee must not exceed max_fee.' }],
    ],
  ])('rejects %s', (_name, ranges, problems) => {
    expect(validateRanges(ranges)).toEqual(problems);
  });

  it('reports every problem, in order', () => {
    // range 0 starts at 10 and ends below its start; range 1 leaves a gap after 5; range 2 is open but not last,
    // and so is the last range closed.
    const problems = validateRanges([range('10', '5', { min_fee: '3', max_fee: '1' }), range('7', null), range('20', '30')]);
    expect(problems.map((p) => [p.index, p.field])).toEqual([
      [0, 'min_amount'],
      [0, 'max_amount'],
      [0, 'min_fee'],
      [1, 'min_amount'],
      [1, 'max_amount'],
      [2, 'max_amount'],
    ]);
    expect(problems[3]?.message).toBe('This range leaves a gap after the previous one: it must start at 5.');
    expect(problems[4]?.message).toBe('Only the last range may be open-ended.');
    expect(problems[5]?.message).toBe('The last range must be open-ended (max_amount null).');
  });

  it('a min_fee or max_fee alone is never a problem', () => {
    expect(validateRanges([range('0', null, { min_fee: '100' })])).toEqual([]);
    expect(validateRanges([range('0', null, { max_fee: '0' })])).toEqual([]);
  });
});

/** Decimal string of `units` hundredths (bigint only). */
const cents = (units: bigint) => `${units / 100n}.${(units % 100n).toString().padStart(2, '0')}`;

describe('validateRanges and rangeFor: properties', () => {
  /** Strictly increasing breakpoints in cents, tiled into ranges from 0 with an open-ended last one. */
  const tilingArb = fc
    .uniqueArray(fc.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: 0, maxLength: 8 })
    .map((points) => {
      const sorted = [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const bounds = [0n, ...sorted];
      return bounds.map((min, i) => {
        const next = bounds[i + 1];
        return range(cents(min), next === undefined ? null : cents(next), { id: `r${i}` });
      });
    });

  it('any tiling from 0 is valid, and rangeFor finds the one range with min <= p < max for every principal', () => {
    fc.assert(
      fc.property(tilingArb, fc.bigInt({ min: 0n, max: 2n * 10n ** 12n }), (ranges, p) => {
        expect(validateRanges(ranges)).toEqual([]);
        const principal = cents(p);
        const found = rangeFor(ranges, principal);
        const containing = ranges.filter((r) => new Money(principal).gte(r.min_amount) && (r.max_amount === null || new Money(principal).lt(r.max_amount)));
        expect(containing).toHaveLength(1);
        expect(found).toBe(containing[0]);
        // Every boundary belongs to the range that starts there.
        for (const r of ranges) expect(rangeFor(ranges, r.min_amount)).toBe(r);
      }),
      { numRuns: 300 },
    );
  });

  it('swapping two ranges of a tiling is always reported', () => {
    fc.assert(
      fc.property(
        tilingArb.filter((r) => r.length >= 2),
        fc.nat(),
        (ranges, k) => {
          const i = k % (ranges.length - 1);
          const swapped = [...ranges];
          [swapped[i], swapped[i + 1]] = [ranges[i + 1] as TariffRange, ranges[i] as TariffRange];
          expect(validateRanges(swapped).length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('rangeFor', () => {
  it.each([
    ['0', 'a'],
    ['0.01', 'a'],
    ['99.99', 'a'],
    ['99.999999', 'a'],
    ['100', 'b'], // the max belongs to the next range
    ['100.00', 'b'],
    ['999.99', 'b'],
    ['1000', 'c'],
    ['1000.01', 'c'],
    ['999999999999999.99', 'c'],
  ])('puts %s in range %s', (principal, id) => {
    expect(rangeFor(tiling, principal)?.id).toBe(id);
    expect(rangeFor(tiling, new Money(principal))?.id).toBe(id);
  });

  it('finds nothing below 0, in a gap or in an empty schedule', () => {
    expect(rangeFor(tiling, '-0.01')).toBeUndefined();
    const gappy = [range('0', '100', { id: 'x' }), range('200', null, { id: 'y' })];
    expect(rangeFor(gappy, '100')).toBeUndefined();
    expect(rangeFor(gappy, '199.99')).toBeUndefined();
    expect(rangeFor(gappy, '200')?.id).toBe('y');
    expect(rangeFor([], '1')).toBeUndefined();
  });
});

describe('feeFor', () => {
  const fee = (r: TariffRange, principal: string, minorUnits: number) => formatAmount(feeFor(r, principal, minorUnits), minorUnits);

  it.each<[string, Partial<TariffRange>, string, number, string]>([
    // 1.00 + 200 * 0.5 / 100 = 1.00 + 1.00
    ['fixed + percentage', { fixed_amount: '1.00', percentage: '0.5' }, '200.00', USD, '2.00'],
    // 1.00 + 1234.56 * 0.5% = 1.00 + 6.1728 = 7.1728 → 7.17
    ['fixed + percentage, rounded', { fixed_amount: '1.00', percentage: '0.5' }, '1234.56', USD, '7.17'],
    ['fixed only', { fixed_amount: '2.50' }, '1000000', USD, '2.50'],
    ['nothing', {}, '1000', USD, '0.00'],
    // 0.50 * 1% = 0.005 → 0.01 (half away from zero)
    ['a half cent', { percentage: '1' }, '0.50', USD, '0.01'],
    // 0.49 * 1% = 0.0049 → 0.00
    ['just below a half cent', { percentage: '1' }, '0.49', USD, '0.00'],
    // 200 * 0.5% = 1.00 < min 3.00
    ['clamped up to min_fee', { percentage: '0.5', min_fee: '3.00' }, '200.00', USD, '3.00'],
    // 1.00 + 200 * 0.5% = 2.00 > max 1.50
    ['clamped down to max_fee', { fixed_amount: '1.00', percentage: '0.5', max_fee: '1.50' }, '200.00', USD, '1.50'],
    // 2000 * 0.5% = 10.00, within [3, 20]
    ['between min_fee and max_fee', { percentage: '0.5', min_fee: '3', max_fee: '20' }, '2000', USD, '10.00'],
    // 10000 * 0.5% = 50.00 → max 20
    ['above max_fee with both set', { percentage: '0.5', min_fee: '3', max_fee: '20' }, '10000', USD, '20.00'],
    // JPY: 1030 * 1.5% = 15.45 → 15
    ['JPY rounds to whole yen', { percentage: '1.5' }, '1030', JPY, '15'],
    // JPY: 1100 * 1.5% = 16.5 → 17 (half-even would give 16)
    ['JPY rounds a half yen away from zero', { percentage: '1.5' }, '1100', JPY, '17'],
    // JPY: 10 + 1234 * 0.3% = 10 + 3.702 = 13.702 → 14
    ['JPY fixed + percentage', { fixed_amount: '10', percentage: '0.3' }, '1234', JPY, '14'],
    // KWD: 0.100 + 1.234 * 0.5% = 0.100 + 0.00617 = 0.10617 → 0.106
    ['KWD keeps three decimals', { fixed_amount: '0.100', percentage: '0.5' }, '1.234', KWD, '0.106'],
    // KWD: 0.100 + 0.9 * 0.5% = 0.1045 → 0.105 (half-even would give 0.104)
    ['KWD rounds a half fils away from zero', { fixed_amount: '0.100', percentage: '0.5' }, '0.900', KWD, '0.105'],
  ])('%s', (_name, extra, principal, minorUnits, expected) => {
    expect(fee(range('0', null, extra), principal, minorUnits)).toBe(expected);
  });

  it('the fee is never outside [min_fee, max_fee] and always has the currency’s decimals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.bigInt({ min: 0n, max: 10n ** 14n }),
        fc.integer({ min: 0, max: 1000 }),
        fc.bigInt({ min: 0n, max: 10n ** 4n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        (mu, principalUnits, pctHundredths, minUnits, spanUnits) => {
          const scale = new Money(10).pow(mu);
          const asAmount = (u: bigint) => new Money(u.toString()).div(scale).toFixed(mu);
          const r = range('0', null, {
            fixed_amount: asAmount(minUnits),
            percentage: new Money(pctHundredths).div(100).toString(),
            min_fee: asAmount(minUnits),
            max_fee: asAmount(minUnits + spanUnits),
          });
          const f = feeFor(r, asAmount(principalUnits), mu);
          expect(f.decimalPlaces()).toBeLessThanOrEqual(mu);
          expect(f.gte(asAmount(minUnits))).toBe(true);
          expect(f.lte(asAmount(minUnits + spanUnits))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('scheduleFeeRule', () => {
  it('no schedule: a zero fee without description or range', () => {
    const rule = scheduleFeeRule(undefined, USD);
    const result = rule(new Money('1234.56'));
    expect(result.amount.isZero()).toBe(true);
    expect(result).toMatchObject({ txDescription: null, tariffRangeId: null });
  });

  it('an empty schedule or a principal outside every range: zero fee', () => {
    expect(scheduleFeeRule([], USD)(new Money('10')).amount.isZero()).toBe(true);
    const fromHundred = [range('100', null, { id: 'x', fixed_amount: '5' })];
    expect(scheduleFeeRule(fromHundred, USD)(new Money('99.99'))).toEqual({ amount: expect.anything(), txDescription: null, tariffRangeId: null });
    expect(scheduleFeeRule(fromHundred, USD)(new Money('99.99')).amount.isZero()).toBe(true);
  });

  it('prices with the range that holds the principal, passing its description and id', () => {
    const ranges = [
      range('0', '100', { id: 'small', fixed_amount: '1', tx_description: 'Small transfer' }),
      range('100', null, { id: 'large', fixed_amount: '0.5', percentage: '1', max_fee: '10', tx_description: 'Large transfer' }),
    ];
    const rule = scheduleFeeRule(ranges, USD);
    const small = rule(new Money('99.99'));
    expect([formatAmount(small.amount, USD), small.txDescription, small.tariffRangeId]).toEqual(['1.00', 'Small transfer', 'small']);
    // 0.5 + 100 * 1% = 1.50
    const edge = rule(new Money('100'));
    expect([formatAmount(edge.amount, USD), edge.tariffRangeId]).toEqual(['1.50', 'large']);
    // 0.5 + 5000 * 1% = 50.50 → max 10.00
    expect(formatAmount(rule(new Money('5000')).amount, USD)).toBe('10.00');
  });

  it('rounds to the schedule currency’s minor units', () => {
    const ranges = [range('0', null, { percentage: '1.5' })];
    // 1100 * 1.5% = 16.5 → 17 JPY; 0.9 * 1.5% = 0.0135 → 0.014 KWD
    expect(formatAmount(scheduleFeeRule(ranges, JPY)(new Money('1100')).amount, JPY)).toBe('17');
    expect(formatAmount(scheduleFeeRule(ranges, KWD)(new Money('0.9')).amount, KWD)).toBe('0.014');
  });
});
