import fc from 'fast-check';
import { refusalAsApiError } from '../../src/api/refusals';
import type { ApiError } from '../../src/http/errors';
import { isRefusal } from '../../src/refusal';
import type { Principal } from '../../src/auth/service';
import { formatAmount, MAX_INTEGER_DIGITS, Money } from '../../src/money/money';
import { OverrideFeesSchema, parseFeeOverrides } from '../../src/pricing/overrides';
import { computePrice, noFee, type CurrencyUnits, type FixedFeeRule, type Price, type PriceInput, type PriceResult } from '../../src/pricing/price';
import { buildPricingRequest, type PriceFields } from '../../src/pricing/request';
import { SPREAD_FEE } from '../../src/pricing/service';
import { scheduleFeeRule, type TariffRange } from '../../src/tariffs/schedule';

/*
 * computePrice against seeds 002/003:
 * - fx_rate is source units per 1 target unit (source COP, target USD: ~4000; source USD, target COP: ~0.00025);
 * - without a client rate fx_rate = market * (1 + spread) (4000 with 1% → 4040); a client's rate is used as given;
 * - given target: source = ceil(target * fx_rate) + fixed_fee; given source: target = floor((source - fixed_fee) / fx_rate):
 *   the computed side is rounded to its currency's minor units in the house's favour (a computed source
 *   up, away from zero; a computed target down, toward zero), never half up;
 * - fees (fixed, percentage, spread) still round half away from zero;
 * - the spread fee is what fx_rate cost against the market rate, in the source currency, never negative
 *   and never more than source - fixed_fee;
 * - a computed amount of 10^15 or more (more than MAX_INTEGER_DIGITS = 15 integer digits) is amount_too_large.
 */

const USD: CurrencyUnits = { code: 'USD', minorUnits: 2 };
const COP: CurrencyUnits = { code: 'COP', minorUnits: 2 };
const JPY: CurrencyUnits = { code: 'JPY', minorUnits: 0 };
const KWD: CurrencyUnits = { code: 'KWD', minorUnits: 3 };

/** A fee rule that charges `amount` whatever the principal. */
const flatFee =
  (amount: string): FixedFeeRule =>
  () => ({ amount: new Money(amount), txDescription: 'flat fee', tariffRangeId: 'range-1' });

type Case = {
  source: CurrencyUnits;
  target: CurrencyUnits;
  given: PriceInput['given'];
  market?: string;
  spread?: string;
  client?: string;
  fee?: string;
};

function run(c: Case): PriceResult {
  return computePrice({
    source: c.source,
    target: c.target,
    given: c.given,
    marketRate: c.market,
    clientRate: c.client,
    spread: c.spread ?? '0',
    fixedFee: c.fee === undefined ? noFee : flatFee(c.fee),
  });
}

function priced(c: Case): Price {
  const result = run(c);
  if (!result.ok) throw new Error(`expected a price, got ${result.error.code}: ${result.error.message}`);
  return result.price;
}

/** A price as canonical strings: amounts with exactly their currency's decimals (formatAmount throws on more), rates plain. */
function show(c: Case) {
  const p = priced(c);
  const s = c.source.minorUnits;
  return {
    source: formatAmount(p.sourceAmount, s),
    target: formatAmount(p.targetAmount, c.target.minorUnits),
    fx: p.fxRate.toString(),
    market: p.marketRate.toString(),
    fixedFee: formatAmount(p.fixedFee, s),
    spreadFee: formatAmount(p.spreadFee, s),
    atMarket: formatAmount(p.convertedAtMarket, s),
  };
}

const src = (amount: string) => ({ side: 'source' as const, amount });
const tgt = (amount: string) => ({ side: 'target' as const, amount });

describe('computePrice: the seeds’ examples', () => {
  it('market 4000 with a 1% spread gives fx_rate 4040 (4000 * (1 + 0.01))', () => {
    const p = priced({ source: COP, target: USD, given: tgt('1.00'), market: '4000', spread: '0.01' });
    expect(p.fxRate.toString()).toBe('4040');
    expect(p.marketRate.toString()).toBe('4000');
  });

  it('USD→COP: market 0.00025 with a 1% spread gives 0.0002525 (0.00025 * 1.01)', () => {
    // source = 10000 * 0.0002525 = 2.525 → 2.53 (a computed source rounds up)
    const p = priced({ source: USD, target: COP, given: tgt('10000.00'), market: '0.00025', spread: '0.01' });
    expect(p.fxRate.toString()).toBe('0.0002525');
    expect(formatAmount(p.sourceAmount, 2)).toBe('2.53');
  });

  const copUsd = { source: COP, target: USD, market: '4000', spread: '0.01' };
  const usdCop = { source: USD, target: COP, market: '0.00025', spread: '0.01' };

  it.each<[string, Case, ReturnType<typeof show>]>([
    [
      // source = 100 * 4040 = 404000.00; spread = 100 * (4040 - 4000) = 4000.00; at market 404000 - 4000 = 400000.00
      'COP→USD, given target 100.00, no fee',
      { ...copUsd, given: tgt('100.00') },
      { source: '404000.00', target: '100.00', fx: '4040', market: '4000', fixedFee: '0.00', spreadFee: '4000.00', atMarket: '400000.00' },
    ],
    [
      // source = 100 * 4040 + 5000 = 409000.00; spread 4000.00; at market 409000 - 5000 - 4000 = 400000.00
      'COP→USD, given target 100.00, fee 5000 COP',
      { ...copUsd, given: tgt('100.00'), fee: '5000' },
      { source: '409000.00', target: '100.00', fx: '4040', market: '4000', fixedFee: '5000.00', spreadFee: '4000.00', atMarket: '400000.00' },
    ],
    [
      // target = 404000 / 4040 = 100.00; spread = 100 * 40 = 4000.00
      'COP→USD, given source 404000.00, no fee',
      { ...copUsd, given: src('404000.00') },
      { source: '404000.00', target: '100.00', fx: '4040', market: '4000', fixedFee: '0.00', spreadFee: '4000.00', atMarket: '400000.00' },
    ],
    [
      // target = (100000 - 5000) / 4040 = 95000 / 4040 = 23.5148514… → 23.51 (rounded down)
      // spread = 23.51 * 40 = 940.40; at market = 100000 - 5000 - 940.40 = 94059.60
      'COP→USD, given source 100000.00, fee 5000 COP',
      { ...copUsd, given: src('100000.00'), fee: '5000.00' },
      { source: '100000.00', target: '23.51', fx: '4040', market: '4000', fixedFee: '5000.00', spreadFee: '940.40', atMarket: '94059.60' },
    ],
    [
      // source = 1000000 * 0.0002525 = 252.50; spread = 1000000 * 0.0000025 = 2.50; at market 250.00
      'USD→COP, given target 1000000.00, no fee',
      { ...usdCop, given: tgt('1000000.00') },
      { source: '252.50', target: '1000000.00', fx: '0.0002525', market: '0.00025', fixedFee: '0.00', spreadFee: '2.50', atMarket: '250.00' },
    ],
    [
      // source = 1000000 * 0.0002525 + 1.50 = 254.00; spread 2.50; at market 254 - 1.50 - 2.50 = 250.00
      'USD→COP, given target 1000000.00, fee 1.50 USD',
      { ...usdCop, given: tgt('1000000.00'), fee: '1.50' },
      { source: '254.00', target: '1000000.00', fx: '0.0002525', market: '0.00025', fixedFee: '1.50', spreadFee: '2.50', atMarket: '250.00' },
    ],
    [
      // target = 100 / 0.0002525 = 396039.6039… → 396039.60 (rounded down)
      // spread = 396039.60 * 0.0000025 = 0.990099 → 0.99 (half up); at market 100 - 0.99 = 99.01
      'USD→COP, given source 100.00, no fee',
      { ...usdCop, given: src('100.00') },
      { source: '100.00', target: '396039.60', fx: '0.0002525', market: '0.00025', fixedFee: '0.00', spreadFee: '0.99', atMarket: '99.01' },
    ],
    [
      // target = (100 - 2) / 0.0002525 = 388118.8118… → 388118.81 (rounded down)
      // spread = 388118.81 * 0.0000025 = 0.970297025 → 0.97 (half up); at market 100 - 2 - 0.97 = 97.03
      'USD→COP, given source 100.00, fee 2.00 USD',
      { ...usdCop, given: src('100.00'), fee: '2.00' },
      { source: '100.00', target: '388118.81', fx: '0.0002525', market: '0.00025', fixedFee: '2.00', spreadFee: '0.97', atMarket: '97.03' },
    ],
    [
      // no spread: target = 400000 / 4000 = 100.00, spread fee 0
      'COP→USD at 4000 without spread, given source 400000.00',
      { source: COP, target: USD, market: '4000', given: src('400000.00') },
      { source: '400000.00', target: '100.00', fx: '4000', market: '4000', fixedFee: '0.00', spreadFee: '0.00', atMarket: '400000.00' },
    ],
    [
      // no spread: target = 100 / 0.00025 = 400000.00
      'USD→COP at 0.00025 without spread, given source 100.00',
      { source: USD, target: COP, market: '0.00025', given: src('100.00') },
      { source: '100.00', target: '400000.00', fx: '0.00025', market: '0.00025', fixedFee: '0.00', spreadFee: '0.00', atMarket: '100.00' },
    ],
  ])('%s', (_name, c, expected) => {
    expect(show(c)).toEqual(expected);
  });
});

describe('computePrice: minor units and rounding', () => {
  it.each<[string, Case, ReturnType<typeof show>]>([
    [
      // JPY source (0 decimals): fx = 150 * 1.02 = 153; source = 10 * 153 = 1530; spread = 10 * 3 = 30
      'JPY→USD given target 10.00',
      { source: JPY, target: USD, market: '150', spread: '0.02', given: tgt('10.00') },
      { source: '1530', target: '10.00', fx: '153', market: '150', fixedFee: '0', spreadFee: '30', atMarket: '1500' },
    ],
    [
      // target = (1000 - 25) / 153 = 6.3725… → 6.37 (down); spread = 6.37 * 3 = 19.11 → 19 (half up); at market 1000 - 25 - 19 = 956
      'JPY→USD given source 1000 with fee 25',
      { source: JPY, target: USD, market: '150', spread: '0.02', given: src('1000'), fee: '25' },
      { source: '1000', target: '6.37', fx: '153', market: '150', fixedFee: '25', spreadFee: '19', atMarket: '956' },
    ],
    [
      // JPY target: target = 10 / 0.0067 = 1492.537… → 1492 (rounded down; half up gave 1493)
      'USD→JPY given source 10.00',
      { source: USD, target: JPY, market: '0.0067', given: src('10.00') },
      { source: '10.00', target: '1492', fx: '0.0067', market: '0.0067', fixedFee: '0.00', spreadFee: '0.00', atMarket: '10.00' },
    ],
    [
      // KWD source (3 decimals): fx = 0.307 * 1.005 = 0.308535; converted = 32.57 * 0.308535 = 10.04898495 → 10.049 (up);
      // source = 10.049 + 0.250 = 10.299; spread = 32.57 * 0.001535 = 0.04999495 → 0.050 (half up); at market 10.299 - 0.250 - 0.050 = 9.999
      'KWD→USD given target 32.57 with fee 0.250',
      { source: KWD, target: USD, market: '0.307', spread: '0.005', given: tgt('32.57'), fee: '0.250' },
      { source: '10.299', target: '32.57', fx: '0.308535', market: '0.307', fixedFee: '0.250', spreadFee: '0.050', atMarket: '9.999' },
    ],
    [
      // KWD target: target = 100 / 3.25 = 30.76923… → 30.769 (down)
      'USD→KWD given source 100.00',
      { source: USD, target: KWD, market: '3.25', given: src('100.00') },
      { source: '100.00', target: '30.769', fx: '3.25', market: '3.25', fixedFee: '0.00', spreadFee: '0.00', atMarket: '100.00' },
    ],
  ])('%s', (_name, c, expected) => {
    expect(show(c)).toEqual(expected);
  });

  // Exact half-units on the computed side round in the house's favour, not half up: a computed target
  // down (toward zero), a computed source up (away from zero). Half away from zero would give the
  // value in parentheses; for computed sources it happens to agree.
  it.each<[string, Case, string, string]>([
    // 4020 / 4000 = 1.005 → 1.00 (half up: 1.01). (20 / 4000 = 0.005 → 0.00 is refused: see the refusals.)
    ['target 1.005 USD', { source: COP, target: USD, market: '4000', given: src('4020.00') }, 'target', '1.00'],
    // 100 / 4000 = 0.025 → 0.02 (half up: 0.03)
    ['target 0.025 USD', { source: COP, target: USD, market: '4000', given: src('100.00') }, 'target', '0.02'],
    // 180 / 4000 = 0.045 → 0.04 (half up: 0.05)
    ['target 0.045 USD', { source: COP, target: USD, market: '4000', given: src('180.00') }, 'target', '0.04'],
    // 0.05 / 0.02 = 2.5 → 2 (half up: 3)
    ['target 2.5 JPY', { source: USD, target: JPY, market: '0.02', given: src('0.05') }, 'target', '2'],
    // 0.25 / 0.02 = 12.5 → 12 (half up: 13)
    ['target 12.5 JPY', { source: USD, target: JPY, market: '0.02', given: src('0.25') }, 'target', '12'],
    // 45 / 10000 = 0.0045 → 0.004 (half up: 0.005)
    ['target 0.0045 KWD', { source: JPY, target: KWD, market: '10000', given: src('45') }, 'target', '0.004'],
    // 10 JPY * 0.0065 = 0.065 → 0.07 (up; half up: 0.07 too)
    ['source 0.065 USD', { source: USD, target: JPY, market: '0.0065', given: tgt('10') }, 'source', '0.07'],
    // 1 JPY * 0.0065 = 0.0065 → 0.01 (up; half up: 0.01 too)
    ['source 0.0065 USD', { source: USD, target: JPY, market: '0.0065', given: tgt('1') }, 'source', '0.01'],
    // 1.00 USD * 0.3125 = 0.3125 → 0.313 (up; half up: 0.313 too)
    ['source 0.3125 KWD', { source: KWD, target: USD, market: '0.3125', given: tgt('1.00') }, 'source', '0.313'],
    // 1.00 USD * 2.5 = 2.5 → 3 (up; half up: 3 too)
    ['source 2.5 JPY', { source: JPY, target: USD, market: '2.5', given: tgt('1.00') }, 'source', '3'],
  ])('%s', (_name, c, side, expected) => {
    const s = show(c);
    expect(side === 'target' ? s.target : s.source).toBe(expected);
  });

  it('keeps all three KWD decimals; away from a half, a computed target still rounds down and a computed source up', () => {
    // 9 / 1000 = 0.009 exactly; 44 / 10000 = 0.0044 → 0.004 (down, as half up would)
    expect(show({ source: JPY, target: KWD, market: '1000', given: src('9') }).target).toBe('0.009');
    expect(show({ source: JPY, target: KWD, market: '10000', given: src('44') }).target).toBe('0.004');
    // 46 / 10000 = 0.0046 → 0.004 (down; half up: 0.005)
    expect(show({ source: JPY, target: KWD, market: '10000', given: src('46') }).target).toBe('0.004');
    // 10 JPY * 0.00649 = 0.0649 → 0.07 USD (up; half up: 0.06)
    expect(show({ source: USD, target: JPY, market: '0.00649', given: tgt('10') }).source).toBe('0.07');
    // 10 JPY * 0.00601 = 0.0601 → 0.07 USD (up, by a hundredth of a cent; half up: 0.06)
    expect(show({ source: USD, target: JPY, market: '0.00601', given: tgt('10') }).source).toBe('0.07');
  });

  it('rounds a spread fee at an exact half-unit away from zero', () => {
    // fx = 4000 * 1.0000125 = 4000.05; source = 0.10 * 4000.05 = 400.005 → 400.01 (a computed source rounds up)
    // spread = 0.10 * 0.05 = 0.005 → 0.01 (a fee: half away from zero, not down); at market 400.01 - 0.01 = 400.00
    const s = show({ source: COP, target: USD, market: '4000', spread: '0.0000125', given: tgt('0.10') });
    expect(s).toMatchObject({ fx: '4000.05', source: '400.01', spreadFee: '0.01', atMarket: '400.00' });
  });

  it('rounds a fixed fee at an exact half-unit away from zero, then converts the rest down', () => {
    // fee 1.005 → 1.01 USD (half away from zero; down would give 1.00); target = (100.00 - 1.01) / 0.00025 = 395960.00
    expect(show({ source: USD, target: COP, market: '0.00025', given: src('100.00'), fee: '1.005' })).toEqual({
      source: '100.00',
      target: '395960.00',
      fx: '0.00025',
      market: '0.00025',
      fixedFee: '1.01',
      spreadFee: '0.00',
      atMarket: '98.99',
    });
    // given target: converted = 1.00 COP * 0.0002525 = 0.0002525 → 0.01 (up); fee 0.125 → 0.13 (half up); source 0.01 + 0.13 = 0.14
    expect(show({ source: USD, target: COP, market: '0.0002525', given: tgt('1.00'), fee: '0.125' })).toMatchObject({ source: '0.14', fixedFee: '0.13', atMarket: '0.01' });
  });
});

describe('computePrice: refusals and edge cases', () => {
  const tooSmall = { ok: false, error: { code: 'amount_too_small', message: expect.any(String) } };

  it.each<[string, Case]>([
    // 10 / 4040 = 0.00247… → 0.00
    ['a target that rounds to zero (given source)', { source: COP, target: USD, market: '4000', spread: '0.01', given: src('10.00') }],
    // 1 / 4040 → 0.00 (JPY source, smallest possible amount)
    ['one JPY to USD at 4040', { source: JPY, target: USD, market: '4040', given: src('1') }],
    // 20 / 4000 = 0.005 exactly → 0.00 (a computed target rounds down; half up used to give 0.01)
    ['a target of exactly half a cent (given source)', { source: COP, target: USD, market: '4000', given: src('20.00') }],
    ['a fee equal to the source amount', { source: COP, target: USD, market: '4000', given: src('5000.00'), fee: '5000' }],
    ['a fee above the source amount', { source: COP, target: USD, market: '4000', given: src('5000.00'), fee: '6000' }],
    ['same currency, fee equal to the source', { source: USD, target: USD, given: src('1.50'), fee: '1.50' }],
    ['same currency, fee above the source', { source: USD, target: USD, given: src('1.00'), fee: '1.50' }],
  ])('%s → amount_too_small', (_name, c) => {
    expect(run(c)).toEqual(tooSmall);
  });

  it('the smallest amounts that do arrive are priced', () => {
    // A computed target rounds down, so the smallest source that arrives is a whole target unit's worth:
    // 40.40 / 4040 = 0.01 arrives; 40.39 / 4040 = 0.0099975… → 0.00 does not, nor does 20.20 / 4040 = 0.005 → 0.00
    // (which half up used to round to 0.01); 19.99 / 4000 = 0.0049975 → 0.00 does not either.
    expect(show({ source: COP, target: USD, market: '4040', given: src('40.40') }).target).toBe('0.01');
    expect(run({ source: COP, target: USD, market: '4040', given: src('40.39') })).toEqual(tooSmall);
    expect(run({ source: COP, target: USD, market: '4040', given: src('20.20') })).toEqual(tooSmall);
    expect(run({ source: COP, target: USD, market: '4000', given: src('19.99') })).toEqual(tooSmall);
    // a fee one minor unit below the source: (5000.00 - 4999.99) / 0.0001 = 0.01 / 0.0001 = 100.00
    expect(show({ source: COP, target: USD, market: '0.0001', given: src('5000.00'), fee: '4999.99' }).target).toBe('100.00');
  });

  it('given the target, a source that used to round to zero is rounded up to one minor unit and priced', () => {
    // 1.00 COP * 0.0002525 = 0.0002525 USD → 0.01 (up; half up gave 0.00 and refused amount_too_small).
    // spread = 1.00 * (0.0002525 - 0.00025) = 0.0000025 → 0.00; at market 0.01 - 0 - 0 = 0.01
    expect(show({ source: USD, target: COP, market: '0.00025', spread: '0.01', given: tgt('1.00') })).toEqual({
      source: '0.01',
      target: '1.00',
      fx: '0.0002525',
      market: '0.00025',
      fixedFee: '0.00',
      spreadFee: '0.00',
      atMarket: '0.01',
    });
  });

  describe('amount_too_large: a computed amount of 10^15 or more (over MAX_INTEGER_DIGITS = 15 integer digits)', () => {
    const tooLarge = { ok: false, error: { code: 'amount_too_large', message: expect.any(String) } };

    it('the bound is the one given amounts have: 15 integer digits', () => {
      expect(MAX_INTEGER_DIGITS).toBe(15);
    });

    it('given the source, a computed target of 10^15 is refused; one just below it is priced', () => {
      // 250000000000.00 / 0.00025 = 250000000000 * 4000 = 1000000000000000.00 = 10^15 (16 integer digits)
      expect(run({ source: USD, target: COP, market: '0.00025', given: src('250000000000.00') })).toEqual(tooLarge);
      // 249999999999.99 / 0.00025 = 999999999999960.00: 15 integer digits fit
      expect(show({ source: USD, target: COP, market: '0.00025', given: src('249999999999.99') }).target).toBe('999999999999960.00');
    });

    it('given the target, a computed source of 10^15 is refused, the fee included', () => {
      // 250000000000.00 * 4000 = 1000000000000000.00 = 10^15
      expect(run({ source: COP, target: USD, market: '4000', given: tgt('250000000000.00') })).toEqual(tooLarge);
      // 249999999999.99 * 4000 = 999999999999960.00 fits; + a 40.00 fee = 1000000000000000.00 does not
      expect(show({ source: COP, target: USD, market: '4000', given: tgt('249999999999.99') }).source).toBe('999999999999960.00');
      expect(run({ source: COP, target: USD, market: '4000', given: tgt('249999999999.99'), fee: '40.00' })).toEqual(tooLarge);
    });

    it('rounding the computed source up can cross the bound', () => {
      // 99999999999999.91 USD * 10 = 999999999999999.1 JPY → 1000000000000000 (up) = 10^15: refused
      // (half up would have given 999999999999999, which fits)
      expect(run({ source: JPY, target: USD, market: '10', given: tgt('99999999999999.91') })).toEqual(tooLarge);
      // 99999999999999.90 * 10 = 999999999999999 exactly: priced
      expect(show({ source: JPY, target: USD, market: '10', given: tgt('99999999999999.90') }).source).toBe('999999999999999');
    });
  });

  it('uses a client rate unchanged: no spread is added on top', () => {
    // fx = 4100 (not 4100 * 1.01); source = 100 * 4100 = 410000.00; spread = 100 * (4100 - 4000) = 10000.00
    expect(show({ source: COP, target: USD, market: '4000', spread: '0.01', client: '4100', given: tgt('100.00') })).toEqual({
      source: '410000.00',
      target: '100.00',
      fx: '4100',
      market: '4000',
      fixedFee: '0.00',
      spreadFee: '10000.00',
      atMarket: '400000.00',
    });
  });

  it('a client rate below market gives spreadFee 0, never negative', () => {
    // fx 3900 < market 4000: source = 100 * 3900 + 1000 = 391000.00; raw spread 100 * -100 = -10000 → 0
    // at market = 391000 - 1000 - 0 = 390000.00 (the house's cost stays in the FX position)
    expect(show({ source: COP, target: USD, market: '4000', spread: '0.01', client: '3900', given: tgt('100.00'), fee: '1000' })).toEqual({
      source: '391000.00',
      target: '100.00',
      fx: '3900',
      market: '4000',
      fixedFee: '1000.00',
      spreadFee: '0.00',
      atMarket: '390000.00',
    });
    // given source: target = 390000 / 3900 = 100.00
    const p = priced({ source: COP, target: USD, market: '4000', client: '3900', given: src('390000.00') });
    expect(p.spreadFee.isZero()).toBe(true);
    expect(p.spreadFee.isNegative()).toBe(false);
    expect(p.convertedAtMarket.eq(p.sourceAmount.minus(p.fixedFee).minus(p.spreadFee))).toBe(true);
  });

  it('a client rate without a market rate is used as the market rate too (no spread fee)', () => {
    const s = show({ source: COP, target: USD, client: '4100', given: tgt('1.00') });
    expect(s).toEqual({ source: '4100.00', target: '1.00', fx: '4100', market: '4100', fixedFee: '0.00', spreadFee: '0.00', atMarket: '4100.00' });
  });

  it('same currency: fx_rate 1, spread and market rate ignored, target = source - fee', () => {
    expect(show({ source: USD, target: USD, market: '4000', spread: '0.05', given: src('100.00'), fee: '1.50' })).toEqual({
      source: '100.00',
      target: '98.50',
      fx: '1',
      market: '1',
      fixedFee: '1.50',
      spreadFee: '0.00',
      atMarket: '98.50',
    });
  });

  it('same currency: source = target + fee', () => {
    expect(show({ source: USD, target: USD, spread: '0.05', given: tgt('100.00'), fee: '1.50' })).toEqual({
      source: '101.50',
      target: '100.00',
      fx: '1',
      market: '1',
      fixedFee: '1.50',
      spreadFee: '0.00',
      atMarket: '100.00',
    });
    expect(show({ source: JPY, target: JPY, given: tgt('1000') })).toMatchObject({ source: '1000', target: '1000', fx: '1' });
  });

  it('no market rate across currencies → fx_rate_required', () => {
    expect(run({ source: COP, target: USD, spread: '0.01', given: src('100.00') })).toEqual({
      ok: false,
      error: { code: 'fx_rate_required', message: expect.any(String) },
    });
    expect(run({ source: USD, target: COP, given: tgt('100.00') })).toMatchObject({ ok: false, error: { code: 'fx_rate_required' } });
  });

  it.each<[string, Case]>([
    ['a zero market rate', { source: COP, target: USD, market: '0', given: src('100.00') }],
    ['a negative market rate', { source: COP, target: USD, market: '-4000', given: src('100.00') }],
    ['a zero client rate', { source: COP, target: USD, market: '4000', client: '0', given: src('100.00') }],
    ['a zero client rate without market', { source: COP, target: USD, client: '0', given: src('100.00') }],
  ])('%s → invalid_rate', (_name, c) => {
    expect(run(c)).toMatchObject({ ok: false, error: { code: 'invalid_rate' } });
  });

  it('asks the fee rule with the principal in the source currency, before the fee, and passes its description and range on', () => {
    const seen: string[] = [];
    const rule: FixedFeeRule = (principal) => {
      seen.push(principal.toString());
      return { amount: new Money('3.5'), txDescription: 'FX fee', tariffRangeId: 'tr-9' };
    };
    // given target: principal = ceil(100 * 4040.123, 2) = 404012.30 (exact); source = 404012.30 + 3.50 = 404015.80
    const t = computePrice({ source: COP, target: USD, given: tgt('100'), marketRate: '4040.123', spread: 0, fixedFee: rule });
    // given source: principal = the source amount itself
    const s = computePrice({ source: COP, target: USD, given: src('5000.5'), marketRate: '4000', spread: 0, fixedFee: rule });
    // given target, inexact: principal = 100 * 4040.12301 = 404012.301 → 404012.31, the rounded-up converted amount
    // (half up would ask with 404012.30); source = 404012.31 + 3.50 = 404015.81
    const u = computePrice({ source: COP, target: USD, given: tgt('100'), marketRate: '4040.12301', spread: 0, fixedFee: rule });
    expect(seen).toEqual(['404012.3', '5000.5', '404012.31']);
    expect(t.ok && t.price).toMatchObject({ fixedFeeDescription: 'FX fee', fixedFeeTariffRangeId: 'tr-9' });
    expect(t.ok && formatAmount(t.price.sourceAmount, 2)).toBe('404015.80');
    // (5000.50 - 3.50) / 4000 = 1.24925 → 1.24 (rounded down; half up gave 1.25)
    expect(s.ok && formatAmount(s.price.targetAmount, 2)).toBe('1.24');
    expect(u.ok && formatAmount(u.price.sourceAmount, 2)).toBe('404015.81');
  });

  it('prices with a real tariff schedule (fee keyed on the source principal)', () => {
    const ranges: TariffRange[] = [
      { id: 'small', min_amount: '0', max_amount: '1000', fixed_amount: '1', percentage: '0', min_fee: null, max_fee: null, tx_description: 'small' },
      { id: 'large', min_amount: '1000', max_amount: null, fixed_amount: '0', percentage: '0.5', min_fee: '2', max_fee: '20', tx_description: 'large' },
    ];
    const price = (given: PriceInput['given']) =>
      computePrice({ source: USD, target: COP, given, marketRate: '0.00025', spread: 0, fixedFee: scheduleFeeRule(ranges, 2) });
    // given source 999.99: small range, fee 1.00; target = 998.99 / 0.00025 = 3995960.00
    expect(price(src('999.99'))).toMatchObject({ ok: true, price: { fixedFeeTariffRangeId: 'small', fixedFeeDescription: 'small' } });
    // given target 4000000 COP: principal = 1000.00 USD → large range, fee 0.5% = 5.00; source 1005.00
    const t = price(tgt('4000000'));
    expect(t.ok && [formatAmount(t.price.sourceAmount, 2), formatAmount(t.price.fixedFee, 2), t.price.fixedFeeTariffRangeId]).toEqual(['1005.00', '5.00', 'large']);
    // given target 3999979.99 COP: 3999979.99 * 0.00025 = 999.9949975 → principal 1000.00 (rounded up) → large range,
    // fee 0.5% * 1000.00 = 5.00; source 1000.00 + 5.00 = 1005.00 (half up would key 999.99: small range, fee 1.00, source 1000.99)
    const edge = price(tgt('3999979.99'));
    expect(edge.ok && [formatAmount(edge.price.sourceAmount, 2), formatAmount(edge.price.fixedFee, 2), edge.price.fixedFeeTariffRangeId]).toEqual(['1005.00', '5.00', 'large']);
  });
});

/* ---------- exact rational reference (bigint only: independent of decimal.js) ---------- */

/** An exact rational n/d with d > 0. */
type Q = { n: bigint; d: bigint };
const pow10 = (k: number) => 10n ** BigInt(k);
const q = (n: bigint, d = 1n): Q => (d < 0n ? { n: -n, d: -d } : { n, d });
const add = (a: Q, b: Q): Q => q(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Q, b: Q): Q => q(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Q, b: Q): Q => q(a.n * b.n, a.d * b.d);
const div = (a: Q, b: Q): Q => q(a.n * b.d, a.d * b.n);
const cmp = (a: Q, b: Q): number => {
  const x = a.n * b.d - b.n * a.d;
  return x > 0n ? 1 : x < 0n ? -1 : 0;
};
const units = (u: bigint, dp: number): Q => q(u, pow10(dp));

/** A decimal string, plain notation. */
function parseDec(s: string): Q {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new Error(`not a plain decimal: ${s}`);
  const [, sign = '', int = '', frac = ''] = m;
  const n = BigInt(int + frac);
  return q(sign === '-' ? -n : n, pow10(frac.length));
}

/** The decimal string of `u` units of 10^-dp. */
function decString(u: bigint, dp: number): string {
  const neg = u < 0n;
  const mag = neg ? -u : u;
  const int = (mag / pow10(dp)).toString();
  const frac = (mag % pow10(dp)).toString().padStart(dp, '0');
  return `${neg ? '-' : ''}${int}${dp > 0 ? `.${frac}` : ''}`;
}

/** x rounded to dp decimals, half away from zero, as a count of 10^-dp units (fees, the spread). */
function roundUnits(x: Q, dp: number): bigint {
  const scaled = x.n * pow10(dp);
  const mag = scaled < 0n ? -scaled : scaled;
  const r = (2n * mag + x.d) / (2n * x.d);
  return scaled < 0n ? -r : r;
}

/** x rounded to dp decimals toward zero (a computed target: what the client receives), as 10^-dp units. */
function roundDownUnits(x: Q, dp: number): bigint {
  const scaled = x.n * pow10(dp);
  const mag = scaled < 0n ? -scaled : scaled;
  const r = mag / x.d;
  return scaled < 0n ? -r : r;
}

/** x rounded to dp decimals away from zero (a computed source: what the client pays), as 10^-dp units. */
function roundUpUnits(x: Q, dp: number): bigint {
  const scaled = x.n * pow10(dp);
  const mag = scaled < 0n ? -scaled : scaled;
  const r = (mag + x.d - 1n) / x.d;
  return scaled < 0n ? -r : r;
}

/** An amount of 10^15 or more (in 10^-dp units): more integer digits than MAX_INTEGER_DIGITS (15) allows. */
const reachesLimit = (u: bigint, dp: number) => (u < 0n ? -u : u) >= pow10(15 + dp);

/** A Money's exact value as 10^-dp units; fails when it has more than dp decimals. */
function unitsOf(m: Money, dp: number): bigint {
  const v = mul(parseDec(m.toString()), q(pow10(dp)));
  if (v.n % v.d !== 0n) throw new Error(`${m.toString()} has more than ${dp} decimals`);
  return v.n / v.d;
}

/* ---------- property tests ---------- */

type Scenario = {
  source: CurrencyUnits;
  target: CurrencyUnits;
  side: 'source' | 'target';
  givenUnits: bigint;
  market: string;
  client?: string;
  spreadBp: number;
  ranges: TariffRange[];
};

const minorUnitsArb = fc.integer({ min: 0, max: 3 });
/** Rates from 1e-8 to 1e8: an integer mantissa and a scale. */
const rateArb = fc.tuple(fc.bigInt({ min: 1n, max: 10n ** 8n }), fc.integer({ min: 0, max: 8 })).map(([n, s]) => decString(n, s));
/** Amounts as integers of minor units, small ones often. */
const amountUnitsArb = fc.oneof(fc.bigInt({ min: 1n, max: 2000n }), fc.bigInt({ min: 1n, max: 10n ** 13n }));

function scenarioArb(opts: { client: boolean; same?: boolean }) {
  return fc
    .record({
      ds: minorUnitsArb,
      dt: minorUnitsArb,
      same: opts.same === undefined ? fc.boolean() : fc.constant(opts.same),
      side: fc.constantFrom<'source' | 'target'>('source', 'target'),
      givenUnits: amountUnitsArb,
      market: rateArb,
      client: rateArb,
      spreadBp: fc.integer({ min: 0, max: 500 }), // 0..5%
      fee1: fc.bigInt({ min: 0n, max: 5000n }),
      fee2: fc.bigInt({ min: 0n, max: 10n ** 6n }),
      pctBp: fc.integer({ min: 0, max: 300 }), // 0..3%, as a percentage with 2 decimals
      breakUnits: fc.bigInt({ min: 1n, max: 10n ** 9n }),
    })
    .map((r): Scenario => {
      const source = { code: 'SRC', minorUnits: r.ds };
      const target = r.same ? source : { code: 'TGT', minorUnits: r.dt };
      return {
        source,
        target,
        side: r.side,
        givenUnits: r.givenUnits,
        market: r.market,
        client: opts.client ? r.client : undefined,
        spreadBp: r.spreadBp,
        // Fees in the source currency: a flat fee below the break, fixed + percentage above it.
        ranges: [
          { id: 'r0', min_amount: '0', max_amount: decString(r.breakUnits, r.ds), fixed_amount: decString(r.fee1, r.ds), percentage: '0', min_fee: null, max_fee: null, tx_description: null },
          { id: 'r1', min_amount: decString(r.breakUnits, r.ds), max_amount: null, fixed_amount: decString(r.fee2, r.ds), percentage: decString(BigInt(r.pctBp), 2), min_fee: null, max_fee: null, tx_description: null },
        ],
      };
    });
}

const spreadString = (s: Scenario) => decString(BigInt(s.spreadBp), 4);
const givenString = (s: Scenario) => decString(s.givenUnits, s.side === 'source' ? s.source.minorUnits : s.target.minorUnits);

function priceOf(s: Scenario): PriceResult {
  return computePrice({
    source: s.source,
    target: s.target,
    given: { side: s.side, amount: givenString(s) },
    marketRate: s.market,
    clientRate: s.client,
    spread: spreadString(s),
    fixedFee: scheduleFeeRule(s.ranges, s.source.minorUnits),
  });
}

type Refusal = 'amount_too_small' | 'amount_too_large';
type Expected = { ok: false; code: Refusal } | { ok: true; fx: Q; market: Q; source: bigint; target: bigint; fee: bigint; spread: bigint };

/**
 * The seeds' formulas in exact rationals; all amounts in minor units. The computed side is rounded in
 * the house's favour (given target: the converted amount up, then the rounded fee added; given
 * source: the target down); fees and the spread half away from zero.
 */
function reference(s: Scenario): Expected {
  const ds = s.source.minorUnits;
  const dt = s.target.minorUnits;
  const cross = s.source.code !== s.target.code;
  const market = cross ? parseDec(s.market) : q(1n);
  const fx = !cross ? q(1n) : s.client !== undefined ? parseDec(s.client) : mul(market, q(10000n + BigInt(s.spreadBp), 10000n));
  const rule = scheduleFeeRule(s.ranges, ds);
  const feeAt = (principalUnits: bigint) => parseDec(rule(new Money(decString(principalUnits, ds))).amount.toString());
  let source: bigint;
  let target: bigint;
  let fee: Q;
  let feeUnits: bigint;
  if (s.side === 'target') {
    target = s.givenUnits;
    // The fee schedule's principal is the converted amount rounded up; source = that + the rounded fee.
    const converted = roundUpUnits(mul(units(target, dt), fx), ds);
    fee = feeAt(converted);
    feeUnits = roundUnits(fee, ds);
    source = converted + feeUnits;
  } else {
    source = s.givenUnits;
    fee = feeAt(source);
    feeUnits = roundUnits(fee, ds);
    target = roundDownUnits(div(sub(units(source, ds), units(feeUnits, ds)), fx), dt);
  }
  if (target <= 0n || source - feeUnits <= 0n) return { ok: false, code: 'amount_too_small' };
  if (reachesLimit(source, ds) || reachesLimit(target, dt)) return { ok: false, code: 'amount_too_large' };
  const raw = roundUnits(mul(units(target, dt), sub(fx, market)), ds);
  const spread = raw <= 0n ? 0n : raw < source - feeUnits ? raw : source - feeUnits;
  return { ok: true, fx, market, source, target, fee: feeUnits, spread };
}

/**
 * Runs the scenario; when refused, the refusal must be the reference's: amount_too_small when nothing
 * would arrive, amount_too_large exactly when the reference's source or target reaches 10^15.
 */
function pricedOrJustified(s: Scenario): Price | undefined {
  const result = priceOf(s);
  if (!result.ok) {
    expect(['amount_too_small', 'amount_too_large']).toContain(result.error.code);
    expect(reference(s)).toEqual({ ok: false, code: result.error.code });
    return undefined;
  }
  return result.price;
}

const NUM_RUNS = 400;

describe('computePrice: properties', () => {
  it('matches an exact bigint implementation of the seeds’ formulas (with and without client rates, both directions)', () => {
    fc.assert(
      fc.property(fc.boolean().chain((client) => scenarioArb({ client })), (s) => {
        const expected = reference(s);
        const result = priceOf(s);
        if (!expected.ok) {
          expect(result).toMatchObject({ ok: false, error: { code: expected.code } });
          return;
        }
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        const p = result.price;
        const ds = s.source.minorUnits;
        expect(unitsOf(p.sourceAmount, ds)).toBe(expected.source);
        expect(unitsOf(p.targetAmount, s.target.minorUnits)).toBe(expected.target);
        expect(unitsOf(p.fixedFee, ds)).toBe(expected.fee);
        expect(unitsOf(p.spreadFee, ds)).toBe(expected.spread);
        expect(unitsOf(p.convertedAtMarket, ds)).toBe(expected.source - expected.fee - expected.spread);
        expect(cmp(parseDec(p.fxRate.toString()), expected.fx)).toBe(0);
        expect(cmp(parseDec(p.marketRate.toString()), expected.market)).toBe(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(a) returns the given amount unaltered', () => {
    fc.assert(
      fc.property(fc.boolean().chain((client) => scenarioArb({ client })), (s) => {
        const p = pricedOrJustified(s);
        if (!p) return;
        const given = s.side === 'source' ? p.sourceAmount : p.targetAmount;
        expect(given.eq(givenString(s))).toBe(true);
        expect(unitsOf(given, s.side === 'source' ? s.source.minorUnits : s.target.minorUnits)).toBe(s.givenUnits);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(b) the seeds’ formula holds within the rounding of the computed amount, rounded against the client', () => {
    fc.assert(
      fc.property(fc.boolean().chain((client) => scenarioArb({ client })), (s) => {
        const p = pricedOrJustified(s);
        if (!p) return;
        const ds = s.source.minorUnits;
        const dt = s.target.minorUnits;
        const source = parseDec(p.sourceAmount.toString());
        const target = parseDec(p.targetAmount.toString());
        const fee = parseDec(p.fixedFee.toString());
        const fx = parseDec(p.fxRate.toString());
        if (s.side === 'target') {
          // The client never pays less than the formula, and less than one minor unit more:
          // 0 <= source - (target * fx + fee) < 1 minor unit of the source (the converted part rounded up).
          const err = sub(source, add(mul(target, fx), fee));
          expect(cmp(err, q(0n))).toBeGreaterThanOrEqual(0);
          expect(cmp(err, units(1n, ds))).toBeLessThan(0);
        } else {
          // The client never receives more than the formula, and less than one minor unit less:
          // 0 <= (source - fee) / fx - target < 1 minor unit of the target (rounded down).
          const err = sub(div(sub(source, fee), fx), target);
          expect(cmp(err, q(0n))).toBeGreaterThanOrEqual(0);
          expect(cmp(err, units(1n, dt))).toBeLessThan(0);
        }
        if (s.source.code === s.target.code) {
          // Same currency: no rounding at all, source = target + fee.
          expect(p.sourceAmount.eq(p.targetAmount.plus(p.fixedFee))).toBe(true);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(c) nothing is created or lost in the source currency: fixedFee + spreadFee + convertedAtMarket == sourceAmount', () => {
    fc.assert(
      fc.property(fc.boolean().chain((client) => scenarioArb({ client })), (s) => {
        const p = pricedOrJustified(s);
        if (!p) return;
        const ds = s.source.minorUnits;
        expect(unitsOf(p.fixedFee, ds) + unitsOf(p.spreadFee, ds) + unitsOf(p.convertedAtMarket, ds)).toBe(unitsOf(p.sourceAmount, ds));
        expect(p.fixedFee.plus(p.spreadFee).plus(p.convertedAtMarket).eq(p.sourceAmount)).toBe(true);
        expect(p.convertedAtMarket.isNegative()).toBe(false);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(d) every amount has at most its currency’s decimals', () => {
    fc.assert(
      fc.property(fc.boolean().chain((client) => scenarioArb({ client })), (s) => {
        const p = pricedOrJustified(s);
        if (!p) return;
        const ds = s.source.minorUnits;
        for (const m of [p.sourceAmount, p.fixedFee, p.spreadFee, p.convertedAtMarket]) expect(m.decimalPlaces()).toBeLessThanOrEqual(ds);
        expect(p.targetAmount.decimalPlaces()).toBeLessThanOrEqual(s.target.minorUnits);
        // and so formats without throwing
        expect(() => formatAmount(p.convertedAtMarket, ds)).not.toThrow();
        expect(() => formatAmount(p.targetAmount, s.target.minorUnits)).not.toThrow();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(e) without a client rate: spreadFee >= 0 and fxRate == market * (1 + spread); same currency: fxRate 1, spreadFee 0', () => {
    fc.assert(
      fc.property(scenarioArb({ client: false }), (s) => {
        const p = pricedOrJustified(s);
        if (!p) return;
        expect(p.spreadFee.isNegative()).toBe(false);
        if (s.source.code === s.target.code) {
          expect(p.fxRate.toString()).toBe('1');
          expect(p.marketRate.toString()).toBe('1');
          expect(p.spreadFee.isZero()).toBe(true);
        } else {
          // market * (1 + bp / 10000), in bigint rationals
          const expected = mul(parseDec(s.market), q(10000n + BigInt(s.spreadBp), 10000n));
          expect(cmp(parseDec(p.fxRate.toString()), expected)).toBe(0);
          expect(p.marketRate.eq(s.market)).toBe(true);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('(e) with a client rate: the rate is used unchanged and spreadFee >= 0, zero when the rate is not above market', () => {
    fc.assert(
      fc.property(scenarioArb({ client: true, same: false }), (s) => {
        const p = pricedOrJustified(s);
        if (!p) return;
        expect(p.fxRate.eq(s.client ?? '')).toBe(true);
        expect(p.spreadFee.isNegative()).toBe(false);
        if (new Money(s.client ?? '').lte(s.market)) expect(p.spreadFee.isZero()).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

/* ---------- request-side rules ---------- */

/** What `fn` refuses, as the API answers it (fails the test when it throws anything else or nothing). */
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (isRefusal(err)) return refusalAsApiError(err);
    throw err;
  }
  throw new Error('expected a refusal');
}

type Overrides = NonNullable<Parameters<typeof parseFeeOverrides>[0]>;
const fxCtx = { operation: 'account_to_account_fx' as const, sourceCurrency: 'USD', sourceMinorUnits: 2, crossCurrency: true };
const sameCtx = { operation: 'account_to_account' as const, sourceCurrency: 'USD', sourceMinorUnits: 2, crossCurrency: false };

describe('parseFeeOverrides', () => {
  it('nothing to override → undefined', () => {
    expect(parseFeeOverrides(undefined, fxCtx)).toBeUndefined();
    expect(parseFeeOverrides([], fxCtx)).toBeUndefined();
  });

  it('accepts a fixed override in the source currency, with a description, and a spread across currencies', () => {
    const list: Overrides = [
      { type: 'account_to_account_fx', fixed: { amount: '1.50', currency: 'USD' }, tx_description: 'FX fee' },
      { type: SPREAD_FEE, percentage: '0.75' },
    ];
    expect(parseFeeOverrides(list, fxCtx)).toEqual({ fixedAmount: '1.50', txDescription: 'FX fee', spreadPercentage: '0.75' });
    expect(parseFeeOverrides([{ type: 'account_to_account', fixed: { amount: '0', currency: 'USD' } }], sameCtx)).toEqual({ fixedAmount: '0' });
    expect(parseFeeOverrides([{ type: 'account_to_account', tx_description: 'just text' }], sameCtx)).toEqual({ txDescription: 'just text' });
  });

  it.each<[string, Overrides, typeof fxCtx | typeof sameCtx, string]>([
    ['a fixed fee in another currency', [{ type: 'account_to_account_fx', fixed: { amount: '1.50', currency: 'COP' } }], fxCtx, '#/override_fees/0/fixed/currency'],
    [
      'a fixed fee in another currency, second in the list',
      [{ type: SPREAD_FEE, percentage: '1' }, { type: 'account_to_account_fx', fixed: { amount: '1', currency: 'EUR' } }],
      fxCtx,
      '#/override_fees/1/fixed/currency',
    ],
    ['a spread override for a same-currency operation', [{ type: SPREAD_FEE, percentage: '1' }], sameCtx, '#/override_fees/0/type'],
    ['another operation’s fee', [{ type: 'account_to_account', fixed: { amount: '1', currency: 'USD' } }], fxCtx, '#/override_fees/0/type'],
    ['the fx fee on a same-currency operation', [{ type: 'account_to_account_fx', fixed: { amount: '1', currency: 'USD' } }], sameCtx, '#/override_fees/0/type'],
    ['too many decimals for USD', [{ type: 'account_to_account_fx', fixed: { amount: '1.505', currency: 'USD' } }], fxCtx, '#/override_fees/0/fixed/amount'],
    ['a percentage of 100', [{ type: SPREAD_FEE, percentage: '100' }], fxCtx, '#/override_fees/0/percentage'],
    ['a percentage above 100', [{ type: SPREAD_FEE, percentage: '150.5' }], fxCtx, '#/override_fees/0/percentage'],
    ['a spread without percentage', [{ type: SPREAD_FEE }], fxCtx, '#/override_fees/0/percentage'],
    ['a spread with a fixed amount', [{ type: SPREAD_FEE, percentage: '1', fixed: { amount: '1', currency: 'USD' } }], fxCtx, '#/override_fees/0/fixed'],
    ['a spread with a description', [{ type: SPREAD_FEE, percentage: '1', tx_description: 'x' }], fxCtx, '#/override_fees/0/fixed'],
    ['a percentage on the fixed fee', [{ type: 'account_to_account_fx', percentage: '1' }], fxCtx, '#/override_fees/0/percentage'],
  ])('refuses %s', (_name, list, ctx, path) => {
    const err = apiError(() => parseFeeOverrides(list, ctx));
    expect(err.status).toBe(422);
    expect(err.errors).toEqual([{ error_code: 'invalid_fee_override', message: expect.any(String), path }]);
  });

  it('names the source currency and its decimals in the messages', () => {
    expect(apiError(() => parseFeeOverrides([{ type: 'account_to_account_fx', fixed: { amount: '1', currency: 'COP' } }], fxCtx)).errors[0]?.message).toContain('USD');
    const jpy = { ...fxCtx, sourceCurrency: 'JPY', sourceMinorUnits: 0 };
    const err = apiError(() => parseFeeOverrides([{ type: 'account_to_account_fx', fixed: { amount: '1.5', currency: 'JPY' } }], jpy));
    expect(err.errors[0]).toMatchObject({ path: '#/override_fees/0/fixed/amount', message: expect.stringContaining('0 decimal places') });
  });

  it('allows the source currency’s decimals: 3 for KWD, 0 for JPY, and a percentage just below 100', () => {
    const kwd = { ...fxCtx, sourceCurrency: 'KWD', sourceMinorUnits: 3 };
    expect(parseFeeOverrides([{ type: 'account_to_account_fx', fixed: { amount: '1.505', currency: 'KWD' } }], kwd)).toEqual({ fixedAmount: '1.505' });
    const jpy = { ...fxCtx, sourceCurrency: 'JPY', sourceMinorUnits: 0 };
    expect(parseFeeOverrides([{ type: 'account_to_account_fx', fixed: { amount: '150', currency: 'JPY' } }], jpy)).toEqual({ fixedAmount: '150' });
    expect(parseFeeOverrides([{ type: SPREAD_FEE, percentage: '99.999' }], fxCtx)).toEqual({ spreadPercentage: '99.999' });
  });

  it('reports paths under a custom base path', () => {
    const err = apiError(() => parseFeeOverrides([{ type: SPREAD_FEE, percentage: '100' }], fxCtx, '#/quote/override_fees'));
    expect(err.errors[0]?.path).toBe('#/quote/override_fees/0/percentage');
  });

  it('the schema refuses more than 3 entries, unknown fields, unknown types and non-decimal amounts', () => {
    const ok = { type: SPREAD_FEE, percentage: '1' };
    expect(OverrideFeesSchema.safeParse([ok, ok, ok]).success).toBe(true);
    expect(OverrideFeesSchema.safeParse([ok, ok, ok, ok]).success).toBe(false);
    expect(OverrideFeesSchema.safeParse([{ ...ok, extra: 1 }]).success).toBe(false);
    expect(OverrideFeesSchema.safeParse([{ type: 'account_to_acount_fx_spread', percentage: '1' }]).success).toBe(false);
    expect(OverrideFeesSchema.safeParse([{ type: 'account_to_account_fx', fixed: { amount: '-1', currency: 'USD' } }]).success).toBe(false);
    expect(OverrideFeesSchema.safeParse([{ type: 'account_to_account_fx', fixed: { amount: 1, currency: 'USD' } }]).success).toBe(false);
    expect(OverrideFeesSchema.safeParse([{ type: SPREAD_FEE, percentage: '1e2' }]).success).toBe(false);
  });
});

describe('buildPricingRequest', () => {
  const admin: Principal = { keyId: 'k-admin', role: 'admin', customerId: null };
  const client: Principal = { keyId: 'k-client', role: 'client', customerId: 'cus-1' };
  const compliance: Principal = { keyId: 'k-compliance', role: 'compliance', customerId: null };
  const cross = { source: { code: 'USD', minorUnits: 2 }, target: { code: 'COP', minorUnits: 2 } };
  const same = { source: { code: 'USD', minorUnits: 2 }, target: { code: 'USD', minorUnits: 2 } };
  const toJpy = { source: { code: 'USD', minorUnits: 2 }, target: { code: 'JPY', minorUnits: 0 } };
  const spread: Overrides = [{ type: SPREAD_FEE, percentage: '0.5' }];

  it('builds a client request with the default operation', () => {
    const req = buildPricingRequest(client, cross, { source_amount: '100.50' });
    expect(req).toEqual({
      operation: 'account_to_account_fx',
      sourceCurrency: 'USD',
      targetCurrency: 'COP',
      given: { side: 'source', amount: expect.any(String) },
      clientRate: undefined,
      overrides: undefined,
    });
    expect(new Money(req.given.amount).eq('100.50')).toBe(true);
    expect(buildPricingRequest(client, same, { target_amount: '7' })).toMatchObject({ operation: 'account_to_account', given: { side: 'target', amount: '7' } });
    expect(buildPricingRequest(client, { ...same, operation: 'payout' }, { target_amount: '7' }).operation).toBe('payout');
  });

  it('lets an admin key set fx_rate and override_fees', () => {
    const req = buildPricingRequest(admin, cross, { target_amount: '1000', fx_rate: '0.00026', override_fees: spread });
    expect(req).toMatchObject({ clientRate: '0.00026', overrides: { spreadPercentage: '0.5' }, given: { side: 'target', amount: '1000' } });
  });

  it.each<[string, Principal, PriceFields, string]>([
    ['a client key setting fx_rate', client, { source_amount: '10', fx_rate: '4100' }, '#/fx_rate'],
    ['a client key setting override_fees', client, { source_amount: '10', override_fees: spread }, '#/override_fees'],
    ['a compliance key setting fx_rate', compliance, { source_amount: '10', fx_rate: '4100' }, '#/fx_rate'],
  ])('refuses %s with not_authorized', (_name, principal, fields, path) => {
    const err = apiError(() => buildPricingRequest(principal, cross, fields));
    expect(err.status).toBe(403);
    expect(err.errors).toEqual([{ error_code: 'not_authorized', message: expect.any(String), path }]);
  });

  it('refuses fx_rate for the same currency with fx_rate_not_applicable, and a zero fx_rate', () => {
    const err = apiError(() => buildPricingRequest(admin, same, { source_amount: '10', fx_rate: '1' }));
    expect(err.errors).toEqual([{ error_code: 'fx_rate_not_applicable', message: expect.any(String), path: '#/fx_rate' }]);
    expect(apiError(() => buildPricingRequest(admin, cross, { source_amount: '10', fx_rate: '0' })).errors).toEqual([
      { error_code: 'invalid_value', message: expect.any(String), path: '#/fx_rate' },
    ]);
  });

  it.each<[string, PriceFields]>([
    ['both amounts', { source_amount: '10', target_amount: '10' }],
    ['no amount', {}],
  ])('requires exactly one amount: refuses %s', (_name, fields) => {
    const err = apiError(() => buildPricingRequest(admin, cross, fields));
    expect(err.errors).toEqual([{ error_code: 'invalid_value', message: expect.stringContaining('exactly one'), path: '#/source_amount' }]);
  });

  it('checks each amount against its own currency', () => {
    expect(apiError(() => buildPricingRequest(client, toJpy, { target_amount: '1.5' })).errors[0]).toMatchObject({ error_code: 'too_many_decimals', path: '#/target_amount' });
    expect(apiError(() => buildPricingRequest(client, toJpy, { source_amount: '1.505' })).errors[0]).toMatchObject({ error_code: 'too_many_decimals', path: '#/source_amount' });
    expect(apiError(() => buildPricingRequest(client, toJpy, { source_amount: '0' })).errors[0]).toMatchObject({ error_code: 'amount_not_positive' });
    expect(buildPricingRequest(client, toJpy, { source_amount: '1.50' }).given.side).toBe('source');
  });

  it('validates override_fees against the operation and source currency', () => {
    const err = apiError(() => buildPricingRequest(admin, same, { source_amount: '10', override_fees: spread }));
    expect(err.errors[0]).toMatchObject({ error_code: 'invalid_fee_override', path: '#/override_fees/0/type' });
    const wrongCurrency: Overrides = [{ type: 'account_to_account_fx', fixed: { amount: '1', currency: 'COP' } }];
    expect(apiError(() => buildPricingRequest(admin, cross, { source_amount: '10', override_fees: wrongCurrency })).errors[0]).toMatchObject({
      error_code: 'invalid_fee_override',
      path: '#/override_fees/0/fixed/currency',
    });
  });
});
