/**
 * Amounts in what people read (screening details, the workflow's summary in the Temporal UI) are in
 * their currency's minor units: `12000.00 USD`, not the database's `12000.00000000 USD`.
 */
import { screen, type Rule, type ScreeningContext } from '../../src/compliance/engine';
import { displayAmount } from '../../src/money/money';
import type { TransferRow } from '../../src/transfers/model';
import { toWorkflowInput } from '../../src/transfers/workflow-gateway';
import { workflowSummary } from '../../src/transfers/workflow-summary';

const UNITS: Record<string, number> = { USD: 2, JPY: 0, KWD: 3 };

const rule = (kind: Rule['kind'], params: Record<string, unknown>): Rule => ({ id: `r-${kind}`, kind, name: kind, params, enabled: true, version: 1 });
const ctx = (amounts: Record<string, string>, extra: Partial<ScreeningContext> = {}): ScreeningContext => ({
  sourceCurrency: 'USD',
  parties: [],
  amountIn: (c) => amounts[c],
  velocity: () => ({ count: 0, total: '0' }),
  watchlist: [],
  minorUnits: (c) => UNITS[c],
  ...extra,
});

describe('displayAmount', () => {
  it.each([
    ['12000.00000000', 2, 'USD', '12000.00 USD'],
    ['1000', 0, 'JPY', '1000 JPY'],
    ['1.25', 3, 'KWD ', '1.250 KWD'],
    ['0.005', 2, 'USD', '0.01 USD'],
  ])('%s with %i minor units → %s', (value, units, currency, expected) => {
    expect(displayAmount(value, units, currency)).toBe(expected);
  });
});

describe("screening details show amounts in the currency's minor units", () => {
  it('a threshold hit', () => {
    const hit = screen([rule('amount_threshold', { currency: 'USD', amount: '10000' })], ctx({ USD: '12000.00000000' })).hits[0];
    expect(hit?.detail).toBe('12000.00 USD is at or above the 10000 USD threshold.');
  });

  it('a converted amount is rounded up, so it never reads as at or below the limit', () => {
    const velocity = rule('velocity', { currency: 'USD', window_seconds: 3600, max_amount: '250000' });
    const hit = screen([velocity], ctx({ USD: '0.001' }, { velocity: () => ({ count: 1, total: '250000.00000000' }) })).hits[0];
    expect(hit?.detail).toBe('250000.01 USD from the source account in 3600 s (limit 250000).');
  });

  it('keeps the amount as given for a currency it does not know', () => {
    const hit = screen([rule('amount_threshold', { currency: 'XTS', amount: '1' })], ctx({ XTS: '2.5000' })).hits[0];
    expect(hit?.detail).toBe('2.5000 XTS is at or above the 1 XTS threshold.');
  });
});

describe('workflowSummary', () => {
  const row = (over: Partial<TransferRow>): TransferRow =>
    ({
      kind: 'transfer',
      source_account_id: 'acc-a',
      destination_account_id: 'acc-b',
      beneficiary_id: null,
      source_amount: '12000.00000000',
      source_currency: 'USD',
      target_amount: '12000.00000000',
      target_currency: 'USD',
      ...over,
    }) as TransferRow;

  it('a transfer: amount, currency and both parties', () => {
    expect(workflowSummary(row({}), { source: 'Ada Lovelace', destination: 'Grace Hopper' }, { source: 2, target: 2 })).toBe(
      'Transfer 12000.00 USD from Ada Lovelace (account acc-a) to Grace Hopper',
    );
  });

  it('an FX payout, and one priced from the amount received', () => {
    const payout = row({ kind: 'payout', beneficiary_id: 'ben-1', target_amount: '1803600', target_currency: 'JPY' });
    expect(workflowSummary(payout, { source: 'Ada', destination: 'Hans Muster' }, { source: 2, target: 0 })).toBe(
      'Payout 12000.00 USD → 1803600 JPY from Ada (account acc-a) to Hans Muster',
    );
    expect(workflowSummary(row({ source_amount: null, target_amount: '1000', target_currency: 'JPY' }), { source: undefined, destination: undefined }, { source: 2, target: 0 })).toBe(
      'Transfer USD → 1000 JPY from account acc-a to account acc-b',
    );
  });

  it('stays one short line', () => {
    const long = workflowSummary(row({}), { source: 'x'.repeat(300), destination: 'y' }, { source: 2, target: 2 });
    expect(long.length).toBeLessThanOrEqual(200);
  });
});

describe("a workflow's input, as ops read it in the Temporal UI", () => {
  const held = {
    id: 't-1',
    customer_id: 'c-1',
    source_account_id: 'acc-a',
    destination_account_id: 'acc-b',
    source_amount: '12000.00000000',
    source_currency: 'USD',
    target_amount: '1803600.00000000',
    target_currency: 'JPY',
    reference: 'held',
  } as TransferRow;

  it("shows amounts in the currencies' minor units, as the API does", () => {
    expect(toWorkflowInput(held, 3600, { source: 2, target: 0 })).toMatchObject({ sourceAmount: '12000.00', targetAmount: '1803600', sourceCurrency: 'USD', targetCurrency: 'JPY', holdTtlSeconds: 3600 });
  });

  it('keeps the side the client did not give null until priced, and without the minor units, the amounts as stored', () => {
    expect(toWorkflowInput({ ...held, target_amount: null }, 60, { source: 2, target: 0 })).toMatchObject({ sourceAmount: '12000.00', targetAmount: null });
    expect(toWorkflowInput(held, 60)).toMatchObject({ sourceAmount: '12000.00000000', targetAmount: '1803600.00000000' });
  });
});
